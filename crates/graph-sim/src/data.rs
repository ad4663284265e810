//! Static reference data the generators draw from: countries, people, trunks, SIP outcomes.

/// A usage country with what its rows need.
#[derive(Debug)]
pub(crate) struct Country {
    pub code: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    /// Digits of the currency's minor unit (JPY has none).
    pub minor_digits: u8,
    /// E.164 country calling code with `+`.
    pub dial: &'static str,
    /// National significant number length.
    pub national_len: u32,
    /// The admin centre masks the other party's last digits in these countries.
    pub masked: bool,
    /// Domestic per-minute rate, in ten-thousandths of the currency.
    pub domestic_rate_e4: u64,
    /// International per-minute rate, in ten-thousandths.
    pub international_rate_e4: u64,
    /// Connection charge on charged outbound calls, in ten-thousandths.
    pub connection_e4: u64,
    pub emergency: &'static str,
    /// Operator Connect operator used for some of the country's rows.
    pub operator: &'static str,
    /// Azure region codes for media and signalling.
    pub region: &'static str,
    /// Relative weight of the country among users.
    pub weight: u32,
    /// Standard-time offset from UTC of the country's offices, in minutes (the most populous
    /// time zone; daylight saving is not simulated).
    pub utc_offset_min: i32,
}

#[expect(clippy::too_many_arguments, reason = "a compact table row constructor")]
const fn c(
    code: &'static str,
    name: &'static str,
    currency: &'static str,
    minor_digits: u8,
    dial: &'static str,
    national_len: u32,
    masked: bool,
    rates: (u64, u64, u64),
    emergency: &'static str,
    operator: &'static str,
    region: &'static str,
    weight: u32,
    utc_offset_min: i32,
) -> Country {
    Country {
        code,
        name,
        currency,
        minor_digits,
        dial,
        national_len,
        masked,
        domestic_rate_e4: rates.0,
        international_rate_e4: rates.1,
        connection_e4: rates.2,
        emergency,
        operator,
        region,
        weight,
        utc_offset_min,
    }
}

pub(crate) static COUNTRIES: [Country; 13] = [
    c(
        "US",
        "United States",
        "USD",
        2,
        "+1",
        10,
        false,
        (190, 2_345, 0),
        "911",
        "Microsoft",
        "USWE",
        30,
        -300,
    ),
    c(
        "GB",
        "United Kingdom",
        "GBP",
        2,
        "+44",
        10,
        false,
        (150, 1_800, 500),
        "999",
        "BT",
        "EUWE",
        12,
        0,
    ),
    c(
        "DE",
        "Germany",
        "EUR",
        2,
        "+49",
        10,
        true,
        (200, 2_100, 0),
        "112",
        "Deutsche Telekom",
        "EUWE",
        12,
        60,
    ),
    c(
        "FR",
        "France",
        "EUR",
        2,
        "+33",
        9,
        true,
        (180, 2_500, 0),
        "112",
        "Orange",
        "EUWE",
        7,
        60,
    ),
    c(
        "NL",
        "Netherlands",
        "EUR",
        2,
        "+31",
        9,
        true,
        (170, 1_900, 0),
        "112",
        "KPN",
        "EUWE",
        5,
        60,
    ),
    c(
        "SE",
        "Sweden",
        "SEK",
        2,
        "+46",
        9,
        true,
        (2_000, 25_000, 0),
        "112",
        "Telia",
        "EUNO",
        4,
        60,
    ),
    c(
        "IT",
        "Italy",
        "EUR",
        2,
        "+39",
        10,
        false,
        (210, 2_300, 0),
        "112",
        "TIM",
        "EUWE",
        4,
        60,
    ),
    c(
        "JP",
        "Japan",
        "JPY",
        0,
        "+81",
        10,
        false,
        (30_000, 400_000, 100_000),
        "110",
        "NTT",
        "JPEA",
        6,
        540,
    ),
    c(
        "AU",
        "Australia",
        "AUD",
        2,
        "+61",
        9,
        false,
        (250, 3_100, 0),
        "000",
        "Optus",
        "AUEA",
        5,
        600,
    ),
    c(
        "CA",
        "Canada",
        "CAD",
        2,
        "+1",
        10,
        false,
        (200, 2_600, 0),
        "911",
        "Rogers",
        "USEA",
        5,
        -300,
    ),
    c(
        "CH",
        "Switzerland",
        "CHF",
        2,
        "+41",
        9,
        false,
        (260, 3_200, 0),
        "112",
        "Swisscom",
        "EUWE",
        3,
        60,
    ),
    c(
        "IN",
        "India",
        "INR",
        2,
        "+91",
        10,
        false,
        (1_500, 90_000, 0),
        "112",
        "Tata",
        "APSE",
        5,
        330,
    ),
    c(
        "ES",
        "Spain",
        "EUR",
        2,
        "+34",
        9,
        false,
        (190, 2_200, 0),
        "112",
        "Telefónica",
        "EUWE",
        2,
        60,
    ),
];

/// Country weights in [`COUNTRIES`] order.
pub(crate) fn country_weights() -> [u32; COUNTRIES.len()] {
    let mut w = [0; COUNTRIES.len()];
    for (slot, country) in w.iter_mut().zip(COUNTRIES.iter()) {
        *slot = country.weight;
    }
    w
}

/// First names: (display, ASCII for the UPN).
pub(crate) static FIRST_NAMES: [(&str, &str); 24] = [
    ("Richard", "richard"),
    ("Adele", "adele"),
    ("Megan", "megan"),
    ("Lynne", "lynne"),
    ("Diego", "diego"),
    ("Isaiah", "isaiah"),
    ("Johanna", "johanna"),
    ("Lee", "lee"),
    ("Nestor", "nestor"),
    ("Patti", "patti"),
    ("Pradeep", "pradeep"),
    ("Miriam", "miriam"),
    ("Alex", "alex"),
    ("Grady", "grady"),
    ("Henrietta", "henrietta"),
    ("Joni", "joni"),
    ("Zoë", "zoe"),
    ("Jürgen", "juergen"),
    ("Sébastien", "sebastien"),
    ("Søren", "soren"),
    ("Hana", "hana"),
    ("Yuki", "yuki"),
    ("Priya", "priya"),
    ("Chloé", "chloe"),
];

/// Last names: (display, ASCII for the UPN).
pub(crate) static LAST_NAMES: [(&str, &str); 20] = [
    ("Malk", "malk"),
    ("Vance", "vance"),
    ("Bowen", "bowen"),
    ("Robbins", "robbins"),
    ("Soto", "soto"),
    ("Henderson", "henderson"),
    ("Lauer", "lauer"),
    ("Gu", "gu"),
    ("Wilke", "wilke"),
    ("Fernandez", "fernandez"),
    ("Gupta", "gupta"),
    ("Graham", "graham"),
    ("Müller", "mueller"),
    ("Dubois", "dubois"),
    ("Nakamura", "nakamura"),
    ("Rossi", "rossi"),
    ("Jensen", "jensen"),
    ("O'Neil", "oneil"),
    ("Sato", "sato"),
    ("Van der Berg", "vanderberg"),
];

/// The tenant's verified domain.
pub(crate) const DOMAIN: &str = "contoso.com";

/// Session border controllers; a tenant uses 3 to 5 of them.
pub(crate) static TRUNKS: [&str; 6] = [
    "tll-audiocodes01.adatum.biz",
    "sbc1.contoso.com",
    "sbc-eu-west.contoso.com",
    "ribbon-us-east.contoso.com",
    "sbc2.adatum.biz",
    "anynode-apac.contoso.com",
];

/// Failed Direct Routing calls: (final SIP code, phrase, call end sub-reason, weight).
pub(crate) static SIP_FAILURES: [(u16, &str, u32, u32); 6] = [
    (404, "Not Found", 560_404, 20),
    (486, "Busy Here", 560_486, 25),
    (487, "Request Terminated", 540_487, 30),
    (503, "Service Unavailable", 560_503, 10),
    (480, "Temporarily Unavailable", 560_480, 10),
    (408, "Request Timeout", 560_408, 5),
];

/// Media and signalling regions Direct Routing rows may name.
pub(crate) static REGIONS: [&str; 7] = ["USWE", "USEA", "EUNO", "EUWE", "APSE", "JPEA", "AUEA"];

/// A destination of international revenue share fraud (IRSF): a high-cost range a fraudster
/// earns a share of, dialled from a compromised account.
#[derive(Debug)]
pub(crate) struct HighCost {
    /// Only `code`, `name`, `dial` and `national_len` are used.
    pub country: Country,
    /// Its per-minute rate, in percent of the usage country's international rate.
    pub rate_percent: u64,
}

const fn high_cost(
    code: &'static str,
    name: &'static str,
    dial: &'static str,
    national_len: u32,
    rate_percent: u64,
) -> HighCost {
    HighCost {
        country: c(
            code,
            name,
            "",
            2,
            dial,
            national_len,
            false,
            (0, 0, 0),
            "",
            "",
            "",
            0,
            0,
        ),
        rate_percent,
    }
}

/// Destinations fraud episodes call: ranges often reported in IRSF alerts.
pub(crate) static HIGH_COST: [HighCost; 6] = [
    high_cost("CU", "Cuba", "+53", 8, 900),
    high_cost("SO", "Somalia", "+252", 8, 1_200),
    high_cost("SL", "Sierra Leone", "+232", 8, 1_000),
    high_cost("GN", "Guinea", "+224", 9, 800),
    high_cost("LV", "Latvia", "+371", 8, 700),
    high_cost("CK", "Cook Islands", "+682", 5, 1_500),
];

/// A department of the tenant's directory.
#[derive(Debug)]
pub(crate) struct Department {
    /// `department`.
    pub name: &'static str,
    /// `employeeOrgData.division`.
    pub division: &'static str,
    /// `employeeOrgData.costCenter`.
    pub cost_center: &'static str,
    /// `jobTitle`s of its people.
    pub titles: &'static [&'static str],
    /// Relative weight of the department among users.
    pub weight: u32,
}

const fn dept(
    name: &'static str,
    division: &'static str,
    cost_center: &'static str,
    titles: &'static [&'static str],
    weight: u32,
) -> Department {
    Department {
        name,
        division,
        cost_center,
        titles,
        weight,
    }
}

/// The tenant's departments.
pub(crate) static DEPARTMENTS: [Department; 10] = [
    dept(
        "Sales",
        "Sales",
        "CC-1200",
        &["Account Executive", "Sales Manager", "Sales Representative"],
        12,
    ),
    dept(
        "Marketing",
        "Sales",
        "CC-1300",
        &["Marketing Manager", "Content Strategist"],
        5,
    ),
    dept(
        "Customer Support",
        "Operations",
        "CC-2100",
        &[
            "Support Engineer",
            "Support Team Lead",
            "Customer Success Manager",
        ],
        10,
    ),
    dept(
        "Logistics",
        "Operations",
        "CC-2200",
        &["Logistics Coordinator", "Warehouse Manager"],
        4,
    ),
    dept(
        "Engineering",
        "Research & Development",
        "CC-3100",
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Engineering Manager",
        ],
        10,
    ),
    dept(
        "Product Management",
        "Research & Development",
        "CC-3200",
        &["Product Manager", "Program Manager"],
        4,
    ),
    dept(
        "Finance",
        "Corporate",
        "CC-4100",
        &["Accountant", "Financial Analyst", "Controller"],
        4,
    ),
    dept(
        "Human Resources",
        "Corporate",
        "CC-4200",
        &["HR Business Partner", "Recruiter"],
        3,
    ),
    dept("Legal", "Corporate", "CC-4300", &["Legal Counsel"], 2),
    dept(
        "IT",
        "Corporate",
        "CC-4400",
        &["Systems Administrator", "Teams Voice Administrator"],
        4,
    ),
];

/// Department weights in [`DEPARTMENTS`] order.
pub(crate) fn department_weights() -> [u32; DEPARTMENTS.len()] {
    let mut w = [0; DEPARTMENTS.len()];
    for (slot, department) in w.iter_mut().zip(DEPARTMENTS.iter()) {
        *slot = department.weight;
    }
    w
}

/// The tenant's offices in each country, in [`COUNTRIES`] order: (country code, `companyName`
/// of the users there, cities with an office, in the country's [`Country::utc_offset_min`]).
pub(crate) static OFFICES: [(&str, &str, &[&str]); COUNTRIES.len()] = [
    ("US", "Contoso Ltd", &["New York", "Boston", "Atlanta"]),
    ("GB", "Contoso Ltd", &["London", "Manchester"]),
    (
        "DE",
        "Contoso GmbH",
        &["Berlin", "Munich", "Frankfurt am Main"],
    ),
    ("FR", "Contoso SAS", &["Paris", "Lyon"]),
    ("NL", "Contoso B.V.", &["Amsterdam", "Rotterdam"]),
    ("SE", "Contoso Ltd", &["Stockholm"]),
    ("IT", "Contoso Ltd", &["Milan", "Rome"]),
    ("JP", "Contoso Japan K.K.", &["Tokyo", "Osaka"]),
    ("AU", "Contoso Ltd", &["Sydney", "Melbourne"]),
    ("CA", "Contoso Ltd", &["Toronto", "Montreal"]),
    ("CH", "Contoso Schweiz AG", &["Zurich", "Geneva"]),
    ("IN", "Contoso Ltd", &["Bengaluru", "Mumbai"]),
    ("ES", "Contoso Ltd", &["Madrid", "Barcelona"]),
];
