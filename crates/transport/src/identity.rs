//! Cluster identities: the role and name a certificate speaks for.
//!
//! Every leaf certificate carries exactly one URI subject alternative name
//! (RFC 5280 §4.2.1.6) of the form `urn:symbolon:<role>:<name>`.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::Error;

/// The URN prefix of every cluster identity.
pub const IDENTITY_PREFIX: &str = "urn:symbolon:";

/// The longest valid certificate name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// What a cluster member is, as written in its certificate.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The coordinator: serves the API, calls custodians.
    Coordinator,
    /// A custodian: holds shares, serves the coordinator, calls the coordinator.
    Custodian,
    /// A client of the coordinator (an operator, a service, the CLI).
    Client,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 3] = [Role::Coordinator, Role::Custodian, Role::Client];

    /// The role's name as written in certificates: `coordinator`, `custodian` or `client`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Custodian => "custodian",
            Role::Client => "client",
        }
    }

    /// Whether members of this role run a TLS server (and so get server
    /// certificates with DNS/IP names and the serverAuth usage).
    pub const fn is_server(self) -> bool {
        matches!(self, Role::Coordinator | Role::Custodian)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::UnknownRole { role: s.to_owned() })
    }
}

/// The authenticated caller of a request: the role and name from its verified
/// client certificate.
///
/// [`serve`](crate::serve) inserts it into every request's extensions;
/// handlers take `axum::Extension<PeerIdentity>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PeerIdentity {
    /// The peer's role.
    pub role: Role,
    /// The peer's name (for a custodian, its custodian id).
    pub name: String,
}

impl PeerIdentity {
    /// An identity, after checking the name.
    ///
    /// # Errors
    ///
    /// [`Error::BadName`] if `name` does not match `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
    pub fn new(role: Role, name: &str) -> Result<Self, Error> {
        check_name(name)?;
        Ok(Self {
            role,
            name: name.to_owned(),
        })
    }

    /// The identity as the URI written in certificates: `urn:symbolon:<role>:<name>`.
    pub fn uri(&self) -> String {
        format!("{IDENTITY_PREFIX}{}:{}", self.role, self.name)
    }

    /// Parses `urn:symbolon:<role>:<name>`.
    ///
    /// # Errors
    ///
    /// [`Error::BadIdentity`] if the URI is not of that form, names an unknown
    /// role or carries an invalid name.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        let bad = || Error::BadIdentity {
            uri: uri.to_owned(),
        };
        let rest = uri.strip_prefix(IDENTITY_PREFIX).ok_or_else(bad)?;
        let (role, name) = rest.split_once(':').ok_or_else(bad)?;
        let role = role.parse::<Role>().map_err(|_| bad())?;
        if !is_valid_name(name) {
            return Err(bad());
        }
        Ok(Self {
            role,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role, self.name)
    }
}

/// Whether `name` is a valid certificate name: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            bytes.len() <= MAX_NAME_LEN
                && first.is_ascii_alphanumeric()
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => false,
    }
}

/// [`is_valid_name`] as a `Result`.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::BadName {
            name: name.to_owned(),
        })
    }
}

/// The identity of the end-entity certificate of a chain (the first element).
///
/// This only reads the certificate; it does not verify it. The TLS verifiers
/// of this crate call it after the chain has been verified against the
/// cluster CA.
///
/// # Errors
///
/// - [`Error::NoCertificate`] if `certs` is empty;
/// - [`Error::MalformedCertificate`] if the first certificate is not X.509;
/// - [`Error::MissingIdentity`] if it carries no `urn:symbolon:` URI name;
/// - [`Error::AmbiguousIdentity`] if it carries more than one;
/// - [`Error::BadIdentity`] if the one it carries is malformed.
pub fn peer_of(certs: &[CertificateDer<'_>]) -> Result<PeerIdentity, Error> {
    let end_entity = certs.first().ok_or(Error::NoCertificate)?;
    let (rest, cert) = x509_parser::certificate::X509Certificate::from_der(end_entity.as_ref())
        .map_err(|_| Error::MalformedCertificate)?;
    if !rest.is_empty() {
        return Err(Error::MalformedCertificate);
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|_| Error::MalformedCertificate)?
        .ok_or(Error::MissingIdentity)?;
    let mut uris = san.value.general_names.iter().filter_map(|n| match n {
        GeneralName::URI(uri) if uri.starts_with(IDENTITY_PREFIX) => Some(*uri),
        _ => None,
    });
    let first = uris.next().ok_or(Error::MissingIdentity)?;
    let others = uris.count();
    if others > 0 {
        return Err(Error::AmbiguousIdentity {
            count: others.saturating_add(1),
        });
    }
    PeerIdentity::from_uri(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_through_display() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        }
        assert!(matches!(
            "admin".parse::<Role>(),
            Err(Error::UnknownRole { role }) if role == "admin"
        ));
        assert!("Coordinator".parse::<Role>().is_err());
    }

    #[test]
    fn names_follow_the_pattern() {
        for ok in ["a", "A9", "custodian-1", "c.0_x", &"x".repeat(64)] {
            assert!(is_valid_name(ok), "{ok:?}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "a/b",
            "a:b",
            "a b",
            "é",
            &"x".repeat(65),
            "..",
        ] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn identity_uris_round_trip_and_reject_garbage() {
        let id = PeerIdentity::new(Role::Custodian, "c1").unwrap();
        assert_eq!(id.uri(), "urn:symbolon:custodian:c1");
        assert_eq!(PeerIdentity::from_uri(&id.uri()).unwrap(), id);
        for bad in [
            "urn:symbolon:custodian",
            "urn:symbolon:admin:x",
            "urn:symbolon:client:",
            "urn:symbolon:client:a:b",
            "urn:other:client:a",
        ] {
            assert!(
                matches!(PeerIdentity::from_uri(bad), Err(Error::BadIdentity { uri }) if uri == bad),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn peer_of_rejects_empty_and_garbage() {
        assert!(matches!(peer_of(&[]), Err(Error::NoCertificate)));
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0x00]);
        assert!(matches!(peer_of(&[junk]), Err(Error::MalformedCertificate)));
    }
}
