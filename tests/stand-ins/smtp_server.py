"""A real SMTP server on loopback for the delivery tests (aiosmtpd), started by
tests/stand-ins/smtp.rs.

    python3 smtp_server.py DIR [--no-starttls] [--login USER PASSWORD]

Makes a certificate authority and a server certificate for 127.0.0.1 and localhost (trustme)
under DIR, listens on 127.0.0.1 on a free port and prints one ready line on stdout:

    {"port": 40123, "ca": "DIR/ca.pem", "other_ca": "DIR/other-ca.pem", "maildir": "DIR/mail"}

By default STARTTLS is offered and required before any mail command; with --no-starttls it is
not offered at all (a relay a client must refuse). With --login, AUTH (PLAIN, LOGIN) is offered
only after STARTTLS and required for mail. Each message taken is written to DIR/mail as N.eml
(the bytes received) and N.json (the envelope, whether it came over TLS, the login, and the
message parsed by Python's email module: headers, the HTML body, attachments in hex), the .json
last, so a reader that sees it sees the whole message. The server stops when its stdin closes
(the test process ended or dropped its handle) or on SIGTERM.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading

try:
    import trustme
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as e:  # pragma: no cover - reported to the test
    print(
        f"the SMTP stand-in needs the Python packages aiosmtpd and trustme ({e}): "
        "run scripts/test, which installs them into its virtualenv",
        file=sys.stderr,
    )
    sys.exit(3)


def parse(raw):
    """The parts of a message a test checks."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = None
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment":
            attachments.append(
                {
                    "name": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "hex": part.get_payload(decode=True).hex(),
                }
            )
        elif part.get_content_type() == "text/html" and html is None:
            html = part.get_content()
    return {
        "subject": str(message.get("Subject", "")),
        "from": str(message.get("From", "")),
        "to": [str(a.addr_spec) for a in message["To"].addresses] if message["To"] else [],
        "cc": [str(a.addr_spec) for a in message["Cc"].addresses] if message["Cc"] else [],
        "html": html,
        "attachments": attachments,
    }


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.maildir, str(self.count))
        raw = envelope.original_content or envelope.content
        with open(stem + ".eml", "wb") as f:
            f.write(raw)
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": login,
            "message": parse(raw),
        }
        with open(stem + ".json.tmp", "w") as f:
            json.dump(record, f)
        os.replace(stem + ".json.tmp", stem + ".json")
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        if not ok:
            # handled=False: aiosmtpd answers 535 itself.
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--no-starttls", action="store_true")
    parser.add_argument("--login", nargs=2, metavar=("USER", "PASSWORD"))
    args = parser.parse_args()

    maildir = os.path.join(args.dir, "mail")
    os.makedirs(maildir, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(os.path.join(args.dir, "ca.pem"))
    trustme.CA().cert_pem.write_to_path(os.path.join(args.dir, "other-ca.pem"))

    options = {}
    if not args.no_starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        options.update(tls_context=context, require_starttls=True)
    if args.login:
        options.update(
            authenticator=authenticator(*args.login),
            auth_required=True,
            auth_require_tls=True,
        )
    handler = Handler(maildir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="stand-in.localhost", **options), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def watch_stdin():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    ready = {
        "port": port,
        "ca": os.path.join(args.dir, "ca.pem"),
        "other_ca": os.path.join(args.dir, "other-ca.pem"),
        "maildir": maildir,
    }
    print(json.dumps(ready), flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
