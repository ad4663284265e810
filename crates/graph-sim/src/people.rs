//! The tenant's people and numbers: users, service numbers, other parties' phone numbers,
//! administrative units and client IP addresses, shared by both row generators.

use std::io::Write as _;

use crate::data::{COUNTRIES, Country, DOMAIN, FIRST_NAMES, LAST_NAMES};
use crate::json::{self, Obj};
use crate::rng::{Rng, hash};

/// Users in every tenant.
pub(crate) const USERS: u64 = 64;
/// Administrative units in every tenant.
const ADMIN_UNITS: u64 = 6;

const USER_TAG: u64 = 0x5553_4552;
const SERVICE_TAG: u64 = 0x5345_5256;
const AU_TAG: u64 = 0x4155_4e49;

/// A licensed user of the tenant.
#[derive(Debug)]
pub(crate) struct User {
    pub id: (u64, u64),
    pub first: (&'static str, &'static str),
    pub last: (&'static str, &'static str),
    pub country: &'static Country,
    pub country_index: usize,
    /// The user's direct number (national significant number).
    pub national: u64,
    pub license: &'static str,
    /// The countries (indices into [`COUNTRIES`]) the user calls abroad: none for most users,
    /// one or two for those who work with other countries.
    abroad: [usize; 2],
    abroad_len: usize,
}

impl User {
    /// The user's own phone number.
    pub(crate) fn number(&self) -> Number {
        Number::e164(self.country, self.national)
    }

    /// The countries the user calls abroad.
    pub(crate) fn abroad(&self) -> &[usize] {
        &self.abroad[..self.abroad_len]
    }

    /// The user's `userPrincipalName`.
    pub(crate) fn upn(&self) -> String {
        format!("{}.{}@{DOMAIN}", self.first.1, self.last.1)
    }

    /// The user's display name: `userDisplayName` in rows, `displayName` in the directory.
    pub(crate) fn display_name(&self) -> String {
        format!("{} {}", self.first.0, self.last.0)
    }

    /// Writes `userId`, `userPrincipalName` and `userDisplayName`.
    pub(crate) fn write_fields(&self, obj: &mut Obj<'_>) {
        obj.guid("userId", self.id.0, self.id.1);
        let upn = obj.key("userPrincipalName");
        upn.push(b'"');
        upn.extend_from_slice(self.first.1.as_bytes());
        upn.push(b'.');
        upn.extend_from_slice(self.last.1.as_bytes());
        upn.push(b'@');
        upn.extend_from_slice(DOMAIN.as_bytes());
        upn.push(b'"');
        let name = obj.key("userDisplayName");
        name.push(b'"');
        name.extend_from_slice(self.first.0.as_bytes());
        name.push(b' ');
        name.extend_from_slice(self.last.0.as_bytes());
        name.push(b'"');
    }
}

/// What a row says about a missing user (bots, unassigned numbers).
#[derive(Clone, Copy, Debug)]
pub(crate) enum NoUser {
    Null,
    Empty,
}

impl NoUser {
    pub(crate) fn write_fields(self, obj: &mut Obj<'_>) {
        for key in ["userId", "userPrincipalName", "userDisplayName"] {
            match self {
                Self::Null => obj.null(key),
                Self::Empty => obj.str(key, ""),
            }
        }
    }
}

/// The user with index `u` (`0..USERS`) of the tenant seeded `seed`.
pub(crate) fn user(seed: u64, u: u64) -> User {
    let mut rng = Rng::new(hash(&[seed, USER_TAG, u]));
    let weights = crate::data::country_weights();
    let country_index = rng.weighted(&weights);
    let country = &COUNTRIES[country_index];
    // (u mod 24, (7u + s) mod 20) is unique for u < 120: no two users share a UPN.
    let first = FIRST_NAMES[(u % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[((u * 7 + seed % 20) % LAST_NAMES.len() as u64) as usize];
    let id = (rng.next_u64(), rng.next_u64());
    let national = national_number(country, &mut rng);
    let license = rng.pick(&["MCOPSTN1", "MCOPSTN2", "MCOPSTNU"]);
    let abroad_len = [0, 0, 0, 0, 1, 1, 2][rng.below(7) as usize];
    // Two distinct steps in 0..12 from the user's own country: two other countries.
    let others = COUNTRIES.len() as u64 - 1;
    let first_step = rng.below(others);
    let second_step = (first_step + 1 + rng.below(others - 1)) % others;
    let abroad =
        [first_step, second_step].map(|step| (country_index + 1 + step as usize) % COUNTRIES.len());
    User {
        id,
        first,
        last,
        country,
        country_index,
        national,
        license,
        abroad,
        abroad_len,
    }
}

/// The tenant's service number (auto attendants, conference bridges) in a country.
pub(crate) fn service_number(seed: u64, country: &'static Country) -> Number {
    let code = country.code.as_bytes();
    let mut rng = Rng::new(hash(&[
        seed,
        SERVICE_TAG,
        u64::from(code[0]) << 8 | u64::from(code[1]),
    ]));
    Number::e164(country, national_number(country, &mut rng))
}

/// A random national significant number of the country's length, not starting with 0.
pub(crate) fn national_number(country: &Country, rng: &mut Rng) -> u64 {
    let low = 10u64.pow(country.national_len - 1);
    rng.range(low, 10 * low - 1)
}

/// A phone number as a row shows it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Number {
    /// `+<dial><national>`, the last `masked` digits shown as `*`.
    E164 {
        country: &'static Country,
        national: u64,
        masked: u8,
    },
    /// A short code such as `112`.
    Short(&'static str),
    /// Non-E.164 text from a customer's SBC: the last 7 national digits (`5551234`).
    Local7(u64),
    /// Non-E.164 text: an international prefix instead of `+` (`0049301234567`).
    DoubleZero {
        country: &'static Country,
        national: u64,
    },
    /// Non-E.164 text: a SIP URI naming a person.
    Sip(&'static str),
}

impl Number {
    pub(crate) fn e164(country: &'static Country, national: u64) -> Self {
        Self::E164 {
            country,
            national,
            masked: 0,
        }
    }

    /// The same number with its last `digits` digits masked.
    pub(crate) fn masked(self, digits: u8) -> Self {
        match self {
            Self::E164 {
                country, national, ..
            } => Self::E164 {
                country,
                national,
                masked: digits,
            },
            other => other,
        }
    }

    /// Writes the number as a JSON string.
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        out.push(b'"');
        match self {
            Self::E164 {
                country,
                national,
                masked,
            } => {
                out.extend_from_slice(country.dial.as_bytes());
                let start = out.len();
                json::push_padded(out, national, country.national_len as usize);
                let end = out.len();
                for b in &mut out[end.saturating_sub(usize::from(masked)).max(start)..end] {
                    *b = b'*';
                }
            }
            Self::Short(code) => out.extend_from_slice(code.as_bytes()),
            Self::Local7(national) => json::push_padded(out, national % 10_000_000, 7),
            Self::DoubleZero { country, national } => {
                out.extend_from_slice(b"00");
                out.extend_from_slice(&country.dial.as_bytes()[1..]);
                json::push_padded(out, national, country.national_len as usize);
            }
            Self::Sip(user) => {
                out.extend_from_slice(b"sip:");
                out.extend_from_slice(user.as_bytes());
                out.extend_from_slice(b"@adatum.biz");
            }
        }
        out.push(b'"');
    }
}

/// Writes `administrativeUnitInfos`: zero to two of the tenant's administrative units.
pub(crate) fn write_admin_units(seed: u64, rng: &mut Rng, obj: &mut Obj<'_>) {
    let count = [0, 0, 0, 1, 1, 1, 1, 2][rng.below(8) as usize];
    let first = rng.below(ADMIN_UNITS);
    let out = obj.key("administrativeUnitInfos");
    out.push(b'[');
    for k in 0..count {
        if k > 0 {
            out.push(b',');
        }
        let unit = (first + k) % ADMIN_UNITS;
        out.extend_from_slice(b"{\"id\":");
        json::push_guid(
            out,
            hash(&[seed, AU_TAG, unit]),
            hash(&[seed, AU_TAG, unit, 1]),
        );
        out.push(b'}');
    }
    out.push(b']');
}

/// Writes the four beta client IP address properties; bots have none.
pub(crate) fn write_client_ips(rng: &mut Rng, bot: bool, obj: &mut Obj<'_>) {
    if bot {
        for key in [
            "clientPublicIpV4Address",
            "clientPublicIpV6Address",
            "clientLocalIpV4Address",
            "clientLocalIpV6Address",
        ] {
            obj.null(key);
        }
        return;
    }
    let first = rng.pick(&[20u64, 40, 52, 64, 73, 81, 99, 104, 131, 145, 185, 203]);
    let (b, c, d) = (rng.below(256), rng.below(256), rng.range(1, 254));
    let out = obj.key("clientPublicIpV4Address");
    // Writing to a Vec<u8> cannot fail.
    let _ = write!(out, "\"{first}.{b}.{c}.{d}\"");
    if rng.chance(50) {
        let (x, y, z) = (rng.below(0x10000), rng.below(0x10000), rng.below(0x10000));
        let _ = write!(
            obj.key("clientPublicIpV6Address"),
            "\"2600:1700:{x:x}:{y:x}::{z:x}\""
        );
    } else {
        obj.null("clientPublicIpV6Address");
    }
    let (c, d) = (rng.below(256), rng.range(2, 254));
    let local = obj.key("clientLocalIpV4Address");
    let _ = if rng.chance(60) {
        write!(local, "\"192.168.{}.{d}\"", c % 16)
    } else {
        write!(local, "\"10.{}.{c}.{d}\"", rng.below(256))
    };
    if rng.chance(30) {
        let (x, y) = (rng.below(0x10000), rng.below(0x10000));
        let _ = write!(obj.key("clientLocalIpV6Address"), "\"fe80::{x:x}:{y:x}\"");
    } else {
        obj.null("clientLocalIpV6Address");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: Number) -> String {
        let mut out = Vec::new();
        n.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_are_written_as_rows_show_them() {
        let de = &COUNTRIES[2];
        assert_eq!(de.code, "DE");
        assert_eq!(text(Number::e164(de, 3_012_345_678)), "\"+493012345678\"");
        assert_eq!(
            text(Number::e164(de, 3_012_345_678).masked(4)),
            "\"+49301234****\""
        );
        assert_eq!(text(Number::Local7(4_255_551_234)), "\"5551234\"");
        assert_eq!(
            text(Number::DoubleZero {
                country: de,
                national: 3_012_345_678
            }),
            "\"00493012345678\""
        );
        assert_eq!(text(Number::Sip("alice")), "\"sip:alice@adatum.biz\"");
    }

    #[test]
    fn upns_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for u in 0..USERS {
            let user = user(42, u);
            assert!(seen.insert((user.first.1, user.last.1)));
        }
    }
}
