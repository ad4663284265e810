//! Pseudonymisation at landing: the lake's record of which columns hold keyed tokens instead of
//! their values (`<lake>/_pstn_lake/privacy.json`), and the tokens themselves.
//!
//! A value becomes `tok_` and the first 32 hex digits (128 bits) of its HMAC-SHA256 under the
//! lake's key: the same value always gives the same token, so grouping and joins still work,
//! and without the key a token cannot be turned back into its value. A phone number
//! (`+` then digits, `*` for digits Graph masked) keeps its E.164 country calling code in front:
//! `+44_tok_…`, so reports per destination country still work. Null stays null and the empty
//! string stays empty (it holds nothing to protect).
//!
//! The key is read from an environment variable, never stored: the record holds the variable's
//! name and a key check (the HMAC of a fixed text), so a writer with another key is refused
//! instead of writing tokens that would never match the lake's.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow::datatypes::DataType;
use ring::hmac;

use crate::day::{EncodedDay, Expected, Put, put_day};
use crate::error::store;
use crate::{Error, Lake, QUARANTINE_DIR, RAW_DIR, Result};

/// The object under the state folder that records the lake's privacy setting.
pub const PRIVACY_RECORD: &str = "privacy.json";

/// What the key check is the HMAC of.
const KEY_CHECK_TEXT: &[u8] = b"pstn-lake privacy key check v1";

/// The shortest key accepted, in bytes: a short key can be found by trying keys.
pub const MIN_KEY_BYTES: usize = 16;

/// Hex digits of the HMAC a token keeps (128 bits).
const TOKEN_HEX: usize = 32;

/// What starts every token.
pub const TOKEN_PREFIX: &str = "tok_";

/// What a writer pseudonymises: the columns (sorted, each once) and the name of the environment
/// variable that holds the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrivacySetting {
    columns: Vec<String>,
    key_env: String,
}

impl PrivacySetting {
    /// The setting for `columns` (order and repeats do not matter), with the key in the
    /// environment variable `key_env`.
    pub fn new<I, S>(columns: I, key_env: impl Into<String>) -> PrivacySetting
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut columns: Vec<String> = columns.into_iter().map(Into::into).collect();
        columns.sort();
        columns.dedup();
        PrivacySetting {
            columns,
            key_env: key_env.into(),
        }
    }

    /// The columns, sorted.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The name of the environment variable that holds the key.
    pub fn key_env(&self) -> &str {
        &self.key_env
    }
}

impl std::fmt::Display for PrivacySetting {
    /// `caller_number, user_principal_name (key in $VAR)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (key in ${})", self.columns.join(", "), self.key_env)
    }
}

/// Where pseudonymisation keys are read, by the name of their variable: the process's
/// environment (the default), or values given by the caller (one that keeps its secrets
/// elsewhere, a test). Its `Debug` never shows a key.
#[derive(Clone, Default)]
pub struct PrivacyKeys {
    given: Option<Arc<HashMap<String, String>>>,
}

impl std::fmt::Debug for PrivacyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.given {
            None => f.write_str("PrivacyKeys(environment)"),
            Some(given) => {
                let mut names: Vec<&String> = given.keys().collect();
                names.sort();
                write!(f, "PrivacyKeys(given for {names:?})")
            }
        }
    }
}

impl PrivacyKeys {
    /// Keys read from the environment variables named.
    pub fn from_env() -> PrivacyKeys {
        PrivacyKeys::default()
    }

    /// Keys given as (variable name, key) pairs; a name not given has no key (the environment
    /// is not read).
    pub fn given<I, N, K>(keys: I) -> PrivacyKeys
    where
        I: IntoIterator<Item = (N, K)>,
        N: Into<String>,
        K: Into<String>,
    {
        PrivacyKeys {
            given: Some(Arc::new(
                keys.into_iter()
                    .map(|(n, k)| (n.into(), k.into()))
                    .collect(),
            )),
        }
    }

    /// The key named `var`: refused when it is unset, empty or shorter than [`MIN_KEY_BYTES`].
    fn read(&self, var: &str) -> Result<String> {
        let missing = || Error::PrivacyKeyMissing {
            var: var.to_owned(),
        };
        let key = match &self.given {
            None => std::env::var(var).ok(),
            Some(given) => given.get(var).cloned(),
        }
        .ok_or_else(missing)?;
        if key.trim().is_empty() {
            return Err(missing());
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::PrivacyKeyShort {
                var: var.to_owned(),
                bytes: key.len(),
            });
        }
        Ok(key)
    }
}

/// The record in `_pstn_lake/privacy.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct PrivacyRecord {
    #[serde(flatten)]
    setting: PrivacySetting,
    /// HMAC-SHA256 of [`KEY_CHECK_TEXT`] under the key, hex.
    key_check: String,
}

/// A setting with its key: what turns values into tokens. Its `Debug` shows the setting, never
/// the key.
#[derive(Clone)]
pub struct Pseudonymiser {
    setting: PrivacySetting,
    key: Arc<hmac::Key>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymiser")
            .field("setting", &self.setting)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Pseudonymiser {
    /// A pseudonymiser for `setting` with `key`.
    pub fn new(setting: PrivacySetting, key: &[u8]) -> Pseudonymiser {
        Pseudonymiser {
            setting,
            key: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, key)),
        }
    }

    /// A pseudonymiser for `setting` with its key from `keys`: refused when the key is unset,
    /// empty or shorter than [`MIN_KEY_BYTES`].
    pub fn with_keys(setting: PrivacySetting, keys: &PrivacyKeys) -> Result<Pseudonymiser> {
        let key = keys.read(setting.key_env())?;
        Ok(Pseudonymiser::new(setting, key.as_bytes()))
    }

    /// The setting.
    pub fn setting(&self) -> &PrivacySetting {
        &self.setting
    }

    /// Whether `column` is pseudonymised.
    pub fn covers(&self, column: &str) -> bool {
        self.setting
            .columns
            .binary_search_by(|c| c.as_str().cmp(column))
            .is_ok()
    }

    /// The token of `value`: `tok_` and 32 hex digits of its HMAC-SHA256 (the empty string stays
    /// empty).
    pub fn token(&self, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        let tag = hmac::sign(&self.key, value.as_bytes());
        let mut out = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_HEX);
        out.push_str(TOKEN_PREFIX);
        push_hex(&mut out, &tag.as_ref()[..TOKEN_HEX / 2]);
        out
    }

    /// The token of a phone number: its country calling code, `_`, and [`Self::token`]
    /// (`+44_tok_…`), when it is `+` then digits (or `*`, Graph's mask) starting with an
    /// assigned code; otherwise the plain token.
    pub fn phone_token(&self, value: &str) -> String {
        match calling_code(value) {
            Some(code) => format!("+{code}_{}", self.token(value)),
            None => self.token(value),
        }
    }

    /// The key check recorded with the setting: the HMAC of a fixed text, hex.
    fn key_check(&self) -> String {
        let mut out = String::with_capacity(64);
        push_hex(&mut out, hmac::sign(&self.key, KEY_CHECK_TEXT).as_ref());
        out
    }

    /// `column` with every value replaced by its token ([`Self::phone_token`] when `phone`);
    /// nulls stay null. Each distinct value is hashed once.
    pub fn array(&self, column: &ArrayRef, phone: bool) -> Result<ArrayRef> {
        let token = |v: &str| {
            if phone {
                self.phone_token(v)
            } else {
                self.token(v)
            }
        };
        let out: ArrayRef = match column.data_type() {
            DataType::Utf8 => Arc::new(StringArray::from(tokens(
                column.as_string::<i32>().iter(),
                token,
            ))),
            DataType::LargeUtf8 => Arc::new(LargeStringArray::from(tokens(
                column.as_string::<i64>().iter(),
                token,
            ))),
            DataType::Utf8View => Arc::new(StringViewArray::from(tokens(
                column.as_string_view().iter(),
                token,
            ))),
            other => {
                return Err(Error::Column {
                    column: String::new(),
                    reason: format!("only string columns can be pseudonymised, not {other}"),
                });
            }
        };
        Ok(out)
    }

    /// `batch` with the pseudonymised columns it holds replaced by their tokens; `phone` says
    /// which columns hold phone numbers.
    pub fn batch(&self, batch: &RecordBatch, phone: impl Fn(&str) -> bool) -> Result<RecordBatch> {
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        for (i, field) in schema.fields().iter().enumerate() {
            if self.covers(field.name()) {
                columns[i] = self
                    .array(&columns[i], phone(field.name()))
                    .map_err(|e| match e {
                        Error::Column { reason, .. } => Error::Column {
                            column: field.name().clone(),
                            reason,
                        },
                        other => other,
                    })?;
            }
        }
        RecordBatch::try_new(schema, columns).map_err(crate::error::arrow("pseudonymising"))
    }
}

/// `values` turned into tokens by `token`, each distinct value hashed once (a day's rows name
/// the same few users and numbers over and over).
fn tokens<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    token: impl Fn(&str) -> String,
) -> Vec<Option<String>> {
    let mut seen: HashMap<&'a str, String> = HashMap::new();
    values
        .map(|v| v.map(|v| seen.entry(v).or_insert_with(|| token(v)).clone()))
        .collect()
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
}

/// The country calling code a phone number starts with: `value` is `+` then digits (or `*`,
/// Graph's mask), its first digits an assigned code of [`CALLING_CODES`].
pub fn calling_code(value: &str) -> Option<&'static str> {
    let digits = value.strip_prefix('+')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
        return None;
    }
    (1..=3).filter_map(|n| digits.get(..n)).find_map(|p| {
        CALLING_CODES
            .binary_search(&p)
            .ok()
            .map(|i| CALLING_CODES[i])
    })
}

/// The country calling codes ITU-T assigns (Recommendation E.164 and its list of assigned codes,
/// "Complement to ITU-T E.164"): 1 to 3 digits, none the start of another, sorted. Spare and
/// reserved codes are left out (a number starting with one gets the plain token).
pub const CALLING_CODES: &[&str] = &[
    "1", // North American Numbering Plan
    "20", "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226",
    "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252",
    "253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266",
    "267", "268", "269", "27", "290", "291", "297", "298", "299", // Africa, Atlantic
    "30", "31", "32", "33", "34", "350", "351", "352", "353", "354", "355", "356", "357", "358",
    "359", "36", "370", "371", "372", "373", "374", "375", "376", "377", "378", "379", "380",
    "381", "382", "383", "385", "386", "387", "388", "389", "39", // Europe
    "40", "41", "420", "421", "423", "43", "44", "45", "46", "47", "48", "49", // Europe
    "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "51", "52", "53", "54",
    "55", "56", "57", "58", "590", "591", "592", "593", "594", "595", "596", "597", "598",
    "599", // Americas
    "60", "61", "62", "63", "64", "65", "66", "670", "672", "673", "674", "675", "676", "677",
    "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
    "692", // South-east Asia, Oceania
    "7",   // Russia, Kazakhstan
    "800", "808", "81", "82", "84", "850", "852", "853", "855", "856", "86", "870", "878", "880",
    "881", "882", "883", "886", "888", // East Asia, global services
    "90", "91", "92", "93", "94", "95", "960", "961", "962", "963", "964", "965", "966", "967",
    "968", "970", "971", "972", "973", "974", "975", "976", "977", "979", "98", "991", "992",
    "993", "994", "995", "996", "997", "998", // West, Central and South Asia
];

/// What a lake holds that pseudonymisation cannot cover once turned on: its tables (rows landed
/// in cleartext), its raw archive (pages as served) and its quarantine (rows as served).
async fn holdings(lake: &Lake) -> Result<Vec<String>> {
    let mut held = lake.tables().await?;
    let listing = lake
        .store()
        .list_with_delimiter(Some(lake.root()))
        .await
        .map_err(store("listing", lake.root()))?;
    if listing
        .common_prefixes
        .iter()
        .any(|p| p.filename() == Some(RAW_DIR))
    {
        held.push(format!("a raw archive ({RAW_DIR}/)"));
    }
    let quarantine = lake.state_path(QUARANTINE_DIR);
    let listing = lake
        .store()
        .list_with_delimiter(Some(&quarantine))
        .await
        .map_err(store("listing", &quarantine))?;
    if !listing.common_prefixes.is_empty() || !listing.objects.is_empty() {
        held.push("quarantined rows".to_owned());
    }
    Ok(held)
}

impl Lake {
    /// The privacy setting recorded in the lake, if any.
    pub async fn privacy_setting(&self) -> Result<Option<PrivacySetting>> {
        Ok(self.privacy_record().await?.map(|r| r.setting))
    }

    async fn privacy_record(&self) -> Result<Option<PrivacyRecord>> {
        let path = self.state_path(PRIVACY_RECORD);
        let Some(bytes) = self.get_optional(&path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::PrivacyRecord {
                path: path.to_string(),
                reason: e.to_string(),
            })
    }

    /// The pseudonymiser a writer asking for `wanted` lands with, checked but not recorded (see
    /// [`Lake::settle_privacy`]).
    pub async fn check_privacy(
        &self,
        wanted: Option<&PrivacySetting>,
        keys: &PrivacyKeys,
    ) -> Result<Option<Pseudonymiser>> {
        self.privacy(wanted, keys, false).await
    }

    /// The pseudonymiser a writer asking for `wanted` lands with (call it holding the lake lock):
    ///
    /// - a lake with a recorded setting: that one, for a writer that asks for nothing or the same;
    ///   another one is refused ([`Error::PrivacyMismatch`]), unless the lake holds nothing yet
    ///   (a first run that failed after recording), which then records the new one;
    /// - a lake without one: none for a writer that asks for nothing; `wanted` is recorded when
    ///   the lake holds no rows, raw archive or quarantine yet, and refused otherwise
    ///   ([`Error::PrivacyOnLakeWithData`]): pseudonymisation applies at landing, and what the lake
    ///   holds would stay in cleartext.
    ///
    /// The key comes from `keys`, by the setting's variable name: missing, too short, or not the key
    /// the lake was recorded with ([`Error::PrivacyKeyMismatch`]) is refused, before anything is
    /// written.
    pub async fn settle_privacy(
        &self,
        wanted: Option<&PrivacySetting>,
        keys: &PrivacyKeys,
    ) -> Result<Option<Pseudonymiser>> {
        self.privacy(wanted, keys, true).await
    }

    async fn privacy(
        &self,
        wanted: Option<&PrivacySetting>,
        keys: &PrivacyKeys,
        record: bool,
    ) -> Result<Option<Pseudonymiser>> {
        let recorded = self.privacy_record().await?;
        match (recorded, wanted) {
            (None, None) => Ok(None),
            (Some(recorded), None) => self.recorded_pseudonymiser(recorded, keys).map(Some),
            (Some(recorded), Some(wanted)) if *wanted == recorded.setting => {
                self.recorded_pseudonymiser(recorded, keys).map(Some)
            }
            (recorded, Some(wanted)) => {
                // Refused before the lake is looked at: a missing key is the first thing to fix.
                let pseudonymiser = Pseudonymiser::with_keys(wanted.clone(), keys)?;
                let held = holdings(self).await?;
                match recorded {
                    Some(recorded) if !held.is_empty() => {
                        return Err(Error::PrivacyMismatch {
                            url: self.url().to_string(),
                            recorded: recorded.setting,
                            wanted: wanted.clone(),
                        });
                    }
                    None if !held.is_empty() => {
                        return Err(Error::PrivacyOnLakeWithData {
                            url: self.url().to_string(),
                            held: held.join(", "),
                        });
                    }
                    _ => {}
                }
                if record {
                    self.record_privacy(&pseudonymiser).await?;
                }
                Ok(Some(pseudonymiser))
            }
        }
    }

    /// The pseudonymiser of the lake's `recorded` setting, with the key from its variable when
    /// that is the key the lake was recorded with.
    fn recorded_pseudonymiser(
        &self,
        recorded: PrivacyRecord,
        keys: &PrivacyKeys,
    ) -> Result<Pseudonymiser> {
        let pseudonymiser = Pseudonymiser::with_keys(recorded.setting, keys)?;
        if pseudonymiser.key_check() != recorded.key_check {
            return Err(Error::PrivacyKeyMismatch {
                url: self.url().to_string(),
                var: pseudonymiser.setting.key_env.clone(),
            });
        }
        Ok(pseudonymiser)
    }

    /// Writes the record of `pseudonymiser`'s setting (replacing the record of a lake that holds
    /// nothing yet).
    async fn record_privacy(&self, pseudonymiser: &Pseudonymiser) -> Result<()> {
        let record = PrivacyRecord {
            setting: pseudonymiser.setting.clone(),
            key_check: pseudonymiser.key_check(),
        };
        let json = serde_json::to_vec_pretty(&record).expect("serialises");
        let path = self.state_path(PRIVACY_RECORD);
        match put_day(self, &path, &Expected::Any, EncodedDay::Bytes(json.into())).await? {
            Put::Done(..) => Ok(()),
            Put::Conflict => unreachable!("an unconditional put has no conflict"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"correct horse battery staple 0123456789";

    fn setting() -> PrivacySetting {
        PrivacySetting::new(
            ["user_principal_name", "caller_number"],
            "PSTN_LAKE_TEST_UNSET",
        )
    }

    /// RFC 4231 test case 2 ("Jefe"), through the token's own path: the HMAC is ring's
    /// HMAC-SHA256, and a token keeps its first 128 bits.
    #[test]
    fn a_token_is_the_first_128_bits_of_hmac_sha256() {
        let p = Pseudonymiser::new(setting(), b"Jefe");
        assert_eq!(
            p.token("what do ya want for nothing?"),
            // RFC 4231 4.3: 5bdcc146bf60754e6a042426089575c7 5a003f08…
            "tok_5bdcc146bf60754e6a042426089575c7"
        );
        // Computed once with Python's hmac module:
        // hmac.new(KEY, b"+442079460000", hashlib.sha256).hexdigest()
        let p = Pseudonymiser::new(setting(), KEY);
        assert_eq!(
            p.phone_token("+442079460000"),
            "+44_tok_a56062fce95c1af86870cfca7b4813f2"
        );
        assert_eq!(
            p.token("alice@contoso.com"),
            "tok_ee67098756001ee33699b27b7c70d8b2"
        );
        assert_eq!(
            p.key_check(),
            "42ddccdff4d446ce459dd2be38b74c2657a52df0ece55289921c81576c02b2fa"
        );
        // Deterministic, and another key gives another token.
        assert_eq!(p.token("x"), p.token("x"));
        assert_ne!(
            p.token("x"),
            Pseudonymiser::new(setting(), b"another key entirely").token("x")
        );
    }

    #[test]
    fn a_phone_number_keeps_its_country_calling_code() {
        let p = Pseudonymiser::new(setting(), KEY);
        let t = |v: &str| p.phone_token(v);
        for (number, code) in [
            ("+14255550100", "+1"),
            ("+74951234567", "+7"),
            ("+442079460000", "+44"),
            ("+35312345678", "+353"),
            ("+3531234****", "+353"),
            ("+8613800138000", "+86"),
            ("+97142345678", "+971"),
            ("+2348012345678", "+234"),
            ("+44", "+44"),
        ] {
            let token = t(number);
            assert_eq!(token, format!("{code}_{}", p.token(number)), "{number}");
        }
        // Not `+digits`, or an unassigned code: the plain token.
        for other in [
            "004930123456",
            "5551234",
            "112",
            "sip:alice@adatum.biz",
            "+",
            "+44 20 7946 0000",
            "+999123",
            "+2591234",
        ] {
            assert_eq!(t(other), p.token(other), "{other}");
            assert!(t(other).starts_with(TOKEN_PREFIX), "{other}");
        }
        assert_eq!(t(""), "");
    }

    #[test]
    fn the_calling_codes_are_sorted_and_prefix_free() {
        let mut sorted = CALLING_CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, CALLING_CODES);
        for a in CALLING_CODES {
            assert!((1..=3).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_digit()));
            assert!(!a.starts_with('0'), "{a}");
            for b in CALLING_CODES {
                assert!(a == b || !b.starts_with(a), "{a} is the start of {b}");
            }
        }
        // Every digit but 0 starts some code.
        for d in '1'..='9' {
            assert!(CALLING_CODES.iter().any(|c| c.starts_with(d)), "{d}");
        }
    }

    #[test]
    fn a_batch_keeps_its_nulls_and_other_columns() {
        use arrow::datatypes::{Field, Schema};
        let p = Pseudonymiser::new(setting(), KEY);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("caller_number", DataType::Utf8View, true),
            Field::new("user_principal_name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
                Arc::new(StringViewArray::from(vec![
                    Some("+442079460000"),
                    None,
                    Some("+442079460000"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("alice@contoso.com"),
                    Some(""),
                    None,
                ])),
            ],
        )
        .unwrap();
        let out = p.batch(&batch, |c| c.ends_with("_number")).unwrap();
        assert_eq!(out.schema(), batch.schema());
        assert_eq!(out.column(0), batch.column(0));
        let numbers: Vec<_> = out.column(1).as_string_view().iter().collect();
        let token = p.phone_token("+442079460000");
        assert_eq!(numbers, [Some(token.as_str()), None, Some(token.as_str())]);
        let upns: Vec<_> = out.column(2).as_string::<i32>().iter().collect();
        let token = p.token("alice@contoso.com");
        assert_eq!(upns, [Some(token.as_str()), Some(""), None]);
    }

    #[test]
    fn the_key_is_never_shown() {
        let p = Pseudonymiser::new(setting(), KEY);
        let shown = format!("{p:?}");
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("caller_number"), "{shown}");
    }

    fn keys(var: &str, key: &str) -> PrivacyKeys {
        PrivacyKeys::given([(var, key)])
    }

    #[tokio::test]
    async fn a_lake_records_its_setting_and_refuses_another_key_or_setting() {
        let (dir, lake) = crate::test_util::temp_lake();
        let var = "PSTN_LAKE_KEY";
        let key = keys(var, "the first key, long enough");
        let wanted = PrivacySetting::new(["caller_number"], var);
        assert!(lake.check_privacy(None, &key).await.unwrap().is_none());
        // Checked, not recorded.
        assert!(
            lake.check_privacy(Some(&wanted), &key)
                .await
                .unwrap()
                .is_some()
        );
        assert!(!dir.path().join("_pstn_lake/privacy.json").exists());
        let settled = lake
            .settle_privacy(Some(&wanted), &key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(settled.setting(), &wanted);
        let record = std::fs::read_to_string(dir.path().join("_pstn_lake/privacy.json")).unwrap();
        assert!(!record.contains("first key"), "{record}");
        assert!(record.contains(var), "{record}");
        // Rows land; later writers use the setting without being told.
        let mut landing = crate::Landing::new(lake.clone(), crate::test_util::spec());
        landing
            .push(&crate::test_util::batch(&[("a", 1, 1)]))
            .unwrap();
        landing.commit().await.unwrap();
        let later = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let settled = later.settle_privacy(None, &key).await.unwrap().unwrap();
        assert_eq!(settled.setting(), &wanted);
        assert_eq!(later.privacy_setting().await.unwrap(), Some(wanted.clone()));
        // Another setting is refused, naming both.
        let other = PrivacySetting::new(["caller_number", "callee_number"], var);
        let err = later.settle_privacy(Some(&other), &key).await.unwrap_err();
        assert!(matches!(err, Error::PrivacyMismatch { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("pseudonymises caller_number (key in $PSTN_LAKE_KEY), not callee_number, caller_number"),
            "{message}"
        );
        // Another key is refused, and not shown.
        let second = keys(var, "a second key, long enough too");
        let err = later.settle_privacy(None, &second).await.unwrap_err();
        assert!(matches!(err, Error::PrivacyKeyMismatch { .. }), "{err}");
        assert!(!err.to_string().contains("second key"), "{err}");
        // No key at all, or a short one.
        let err = later
            .settle_privacy(None, &PrivacyKeys::given::<_, String, String>([]))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::PrivacyKeyMissing { .. }), "{err}");
        assert!(err.to_string().contains("PSTN_LAKE_KEY"), "{err}");
        let err = later
            .settle_privacy(None, &keys(var, "short"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::PrivacyKeyShort { bytes: 5, .. }),
            "{err}"
        );
        // Nothing of that changed the record.
        assert_eq!(later.privacy_setting().await.unwrap(), Some(wanted));
    }

    #[tokio::test]
    async fn privacy_is_refused_on_a_lake_holding_rows_and_a_lake_without_rows_takes_a_new_one() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let key = keys("K", "a key that is long enough");
        let first = PrivacySetting::new(["caller_number"], "K");
        lake.settle_privacy(Some(&first), &key).await.unwrap();
        // Nothing landed yet: another setting replaces it (a first run that failed).
        let second = PrivacySetting::new(["callee_number"], "K");
        lake.settle_privacy(Some(&second), &key).await.unwrap();
        assert_eq!(lake.privacy_setting().await.unwrap(), Some(second));

        let (_dir, lake) = crate::test_util::temp_lake();
        let mut landing = crate::Landing::new(lake.clone(), crate::test_util::spec());
        landing
            .push(&crate::test_util::batch(&[("a", 1, 1)]))
            .unwrap();
        landing.commit().await.unwrap();
        let err = lake.settle_privacy(Some(&first), &key).await.unwrap_err();
        assert!(matches!(err, Error::PrivacyOnLakeWithData { .. }), "{err}");
        assert!(err.to_string().contains("holds calls landed"), "{err}");
        assert!(lake.privacy_setting().await.unwrap().is_none());
        // The lake still lands in cleartext for a writer that asks for nothing.
        assert!(lake.settle_privacy(None, &key).await.unwrap().is_none());
    }
}
