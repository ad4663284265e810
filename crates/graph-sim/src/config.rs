//! The simulator's switches.

use std::time::Duration;

use crate::faults::FaultPlan;
use crate::tenant::{Function, TenantConfig};

/// How the simulator behaves. Build with `SimConfig::default().with_…(…)`.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The tenant's data.
    pub tenant: TenantConfig,
    /// Rows per page (Graph: 1,000).
    pub page_size: usize,
    /// The directory (tenant) id in the token URL.
    pub tenant_id: String,
    /// The application (client) id tokens are issued to.
    pub client_id: String,
    /// The accepted client secret; empty refuses secrets.
    pub client_secret: String,
    /// The DER of the certificate registered on the application: when set, PS256 client
    /// assertions that name it (`x5t#S256`) and are signed by its key are accepted.
    pub assertion_certificate_der: Option<Vec<u8>>,
    /// How long an access token stays valid (reported as `expires_in` seconds).
    pub token_lifetime: Duration,
    /// Delay before each Graph page is sent.
    pub latency: Duration,
    /// Graph requests admitted per sliding 60-second window; the excess gets 429 + `Retry-After`.
    pub rate_limit_per_minute: Option<u32>,
    /// Write `Retry-After` as an HTTP date instead of seconds.
    pub retry_after_http_date: bool,
    /// Faults to inject by Graph request number.
    pub faults: FaultPlan,
    /// Faults to inject by token request number (only [`Fault::Status`], [`Fault::Throttle`] and
    /// [`Fault::EndlessBody`]: what the login host answers when it is unwell or hostile).
    ///
    /// [`Fault::Status`]: crate::Fault::Status
    /// [`Fault::Throttle`]: crate::Fault::Throttle
    /// [`Fault::EndlessBody`]: crate::Fault::EndlessBody
    pub token_faults: FaultPlan,
    /// Base URL (`http://host:port`) next links point at instead of the simulator itself.
    pub next_link_host_override: Option<String>,
    /// Every page links to itself (a client must notice it is not progressing).
    pub repeat_next_link: bool,
    /// Every Graph request is answered 403 `Authorization_RequestDenied` (permission not granted).
    pub forbidden: bool,
    /// Functions whose requests are answered 403 `Authorization_RequestDenied`, as with
    /// [`SimConfig::forbidden`], while the others answer as usual (a permission the application
    /// lacks for some functions only).
    pub missing_permissions: Vec<Function>,
    /// Functions this cloud does not have: answered 400 "Resource not found for the segment", as
    /// Graph answers a function it does not know (a beta function not yet in a national cloud).
    pub unavailable: Vec<Function>,
    /// Values to serve instead of the generated ones (a row Graph serves that a client cannot
    /// land), in every page.
    pub bad_values: Vec<BadValue>,
    /// The application lacks `User.Read.All`: `/users` and `/users/delta` are answered 403
    /// `Authorization_RequestDenied`, the call records as usual.
    pub missing_user_read_all: bool,
    /// A `/users/delta` state token issued more than this many days of directory time before the
    /// simulator's directory day is refused 410 `SyncStateNotFound` (default 30).
    pub delta_token_max_age_days: u32,
    /// The application lacks `Mail.Send`: `sendMail` is answered 403 `ErrorAccessDenied`.
    pub missing_mail_send: bool,
    /// An Exchange application access policy restricts the application to these mailboxes
    /// (compared without case): `sendMail` as any other is answered 403 `ErrorAccessDenied`.
    /// `None`: no policy, every mailbox.
    pub mail_send_policy: Option<Vec<String>>,
}

/// A property of a row served with a bad value (or without it), in every page of a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    /// The function whose pages have it.
    pub function: Function,
    /// The row's index within each page (0-based); pages with fewer rows are served as generated.
    pub row: usize,
    /// The Graph property.
    pub property: String,
    /// The JSON text served as its value (any text: it is not checked), or `None` to leave the
    /// property out of the row.
    pub json: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            tenant: TenantConfig::default(),
            page_size: 1000,
            tenant_id: "00000000-0000-0000-0000-000000000001".to_owned(),
            client_id: "00000000-0000-0000-0000-000000000002".to_owned(),
            client_secret: "sim-client-secret".to_owned(),
            assertion_certificate_der: None,
            token_lifetime: Duration::from_secs(3599),
            latency: Duration::ZERO,
            rate_limit_per_minute: None,
            retry_after_http_date: false,
            faults: FaultPlan::default(),
            token_faults: FaultPlan::default(),
            next_link_host_override: None,
            repeat_next_link: false,
            forbidden: false,
            missing_permissions: Vec::new(),
            unavailable: Vec::new(),
            bad_values: Vec::new(),
            missing_user_read_all: false,
            delta_token_max_age_days: 30,
            missing_mail_send: false,
            mail_send_policy: None,
        }
    }
}

impl SimConfig {
    /// Sets the tenant's data.
    pub fn with_tenant(mut self, tenant: TenantConfig) -> Self {
        self.tenant = tenant;
        self
    }

    /// Sets the rows per page.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size;
        self
    }

    /// Sets the tenant id.
    pub fn with_tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = tenant_id.into();
        self
    }

    /// Sets the client id.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets the accepted client secret.
    pub fn with_client_secret(mut self, client_secret: impl Into<String>) -> Self {
        self.client_secret = client_secret.into();
        self
    }

    /// Registers this certificate (DER, as uploaded to an app registration) for client assertions.
    pub fn with_assertion_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.assertion_certificate_der = Some(der.into());
        self
    }

    /// Sets the access-token lifetime.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Sets the delay before each Graph page.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Limits Graph requests per sliding minute.
    pub fn with_rate_limit_per_minute(mut self, limit: u32) -> Self {
        self.rate_limit_per_minute = Some(limit);
        self
    }

    /// Writes `Retry-After` as an HTTP date.
    pub fn with_retry_after_http_date(mut self, http_date: bool) -> Self {
        self.retry_after_http_date = http_date;
        self
    }

    /// Sets the fault plan.
    pub fn with_faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the fault plan of the token endpoint (by token request number).
    pub fn with_token_faults(mut self, faults: FaultPlan) -> Self {
        self.token_faults = faults;
        self
    }

    /// Points next links at another base URL (`http://host:port`).
    pub fn with_next_link_host_override(mut self, base_url: impl Into<String>) -> Self {
        self.next_link_host_override = Some(base_url.into());
        self
    }

    /// Makes every page link to itself.
    pub fn with_repeat_next_link(mut self, repeat: bool) -> Self {
        self.repeat_next_link = repeat;
        self
    }

    /// Answers every Graph request 403.
    pub fn with_forbidden(mut self, forbidden: bool) -> Self {
        self.forbidden = forbidden;
        self
    }

    /// Answers every request for `function` 403 `Authorization_RequestDenied` (counted in
    /// [`SimStats::forbidden`](crate::SimStats::forbidden)); the other functions answer as usual.
    /// Call it once for each function to refuse.
    pub fn with_missing_permission(mut self, function: Function) -> Self {
        if !self.missing_permissions.contains(&function) {
            self.missing_permissions.push(function);
        }
        self
    }

    /// Answers `function` with Graph's 400 for a function it does not know, as a national cloud
    /// without a beta function does (may be called several times).
    pub fn with_unavailable(mut self, function: Function) -> Self {
        if !self.unavailable.contains(&function) {
            self.unavailable.push(function);
        }
        self
    }

    /// Answers `/users` and `/users/delta` 403 `Authorization_RequestDenied` (counted in
    /// [`SimStats::forbidden`](crate::SimStats::forbidden)), as Graph does without
    /// `User.Read.All`; the call records answer as usual.
    pub fn with_missing_user_read_all(mut self) -> Self {
        self.missing_user_read_all = true;
        self
    }

    /// Answers `sendMail` 403 `ErrorAccessDenied` (counted in
    /// [`SimStats::forbidden`](crate::SimStats::forbidden)), as Graph does without the `Mail.Send`
    /// application permission; the call records and the directory answer as usual.
    pub fn with_missing_mail_send(mut self) -> Self {
        self.missing_mail_send = true;
        self
    }

    /// Restricts `sendMail` to these mailboxes, as an Exchange application access policy
    /// (`New-ApplicationAccessPolicy -AccessRight RestrictAccess`) does: sending as any other is
    /// answered 403 `ErrorAccessDenied`.
    pub fn with_mail_send_policy<S: Into<String>>(
        mut self,
        mailboxes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.mail_send_policy = Some(mailboxes.into_iter().map(Into::into).collect());
        self
    }

    /// Refuses `/users/delta` state tokens issued more than `days` days of directory time before
    /// the simulator's directory day with 410 `SyncStateNotFound`.
    pub fn with_delta_token_max_age_days(mut self, days: u32) -> Self {
        self.delta_token_max_age_days = days;
        self
    }

    /// Serves row `row` of every page of `function` with `property` set to the JSON text `json`
    /// (`None`: without the property).
    pub fn with_bad_value(
        mut self,
        function: Function,
        row: usize,
        property: &str,
        json: Option<&str>,
    ) -> Self {
        self.bad_values.push(BadValue {
            function,
            row,
            property: property.to_owned(),
            json: json.map(str::to_owned),
        });
        self
    }
}
