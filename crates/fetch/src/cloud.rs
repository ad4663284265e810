//! The national clouds: which login host and Graph host each uses.

use std::fmt;

/// A Microsoft cloud that serves Graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    /// The global cloud (and GCC).
    #[default]
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (DoD).
    Dod,
    /// China, operated by 21Vianet. Microsoft documents the call-log functions as not available there.
    China,
}

impl Cloud {
    /// The Entra ID (login) base URL.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Graph base URL (also the token scope's resource).
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        })
    }
}

impl std::str::FromStr for Cloud {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "global" => Ok(Cloud::Global),
            "usgov" => Ok(Cloud::UsGov),
            "dod" => Ok(Cloud::Dod),
            "china" => Ok(Cloud::China),
            other => Err(format!(
                "unknown cloud `{other}`: expected global, usgov, dod or china"
            )),
        }
    }
}

/// The Graph API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `v1.0`.
    #[default]
    V1,
    /// `beta`: more properties (client IPs, administrative units, country codes).
    Beta,
}

impl ApiVersion {
    /// The URL path segment.
    pub fn path(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1.0" | "v1" => Ok(ApiVersion::V1),
            "beta" => Ok(ApiVersion::Beta),
            other => Err(format!(
                "unknown API version `{other}`: expected v1.0 or beta"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_own_hosts() {
        let hosts: Vec<(Cloud, &str, &str)> = ["global", "usgov", "dod", "china"]
            .iter()
            .map(|s| {
                let c: Cloud = s.parse().unwrap();
                (c, c.login_url(), c.graph_url())
            })
            .collect();
        assert_eq!(
            hosts,
            vec![
                (
                    Cloud::Global,
                    "https://login.microsoftonline.com",
                    "https://graph.microsoft.com"
                ),
                (
                    Cloud::UsGov,
                    "https://login.microsoftonline.us",
                    "https://graph.microsoft.us"
                ),
                (
                    Cloud::Dod,
                    "https://login.microsoftonline.us",
                    "https://dod-graph.microsoft.us"
                ),
                (
                    Cloud::China,
                    "https://login.chinacloudapi.cn",
                    "https://microsoftgraph.chinacloudapi.cn"
                ),
            ]
        );
        assert!(
            "azure"
                .parse::<Cloud>()
                .unwrap_err()
                .contains("global, usgov, dod or china")
        );
        assert_eq!("beta".parse::<ApiVersion>().unwrap().path(), "beta");
        assert_eq!("v1.0".parse::<ApiVersion>().unwrap().path(), "v1.0");
    }
}
