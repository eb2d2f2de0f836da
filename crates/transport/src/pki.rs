//! The cluster certificate authority and the leaf certificates it issues
//! (X.509 profile of RFC 5280; keys are ECDSA P-256).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use zeroize::{Zeroize as _, Zeroizing};

use crate::Error;
use crate::files::{self, Existing, StagedFile, TlsFiles};
use crate::identity::{PeerIdentity, Role, check_name};

/// File name of the CA certificate inside the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside the CA directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// Common name of every cluster CA.
pub const CA_COMMON_NAME: &str = "Symbolon cluster CA";

/// How long a CA certificate is valid.
pub const CA_VALIDITY: time::Duration = time::Duration::days(3650);
/// How long a leaf certificate is valid.
pub const LEAF_VALIDITY: time::Duration = time::Duration::days(365);
/// How far `notBefore` is backdated, to tolerate clock skew between machines.
pub const BACKDATE: time::Duration = time::Duration::minutes(5);

/// The cluster's certificate authority: a self-signed ECDSA P-256 CA that
/// issues every member's certificate.
///
/// # Security
///
/// The CA key can mint any identity, including `coordinator`. Keep the CA
/// directory offline or at least readable by its owner only.
pub struct Ca {
    cert_pem: String,
    cert_path: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Ca {
    /// Creates a new CA in `dir` (created with mode 0700 if missing): writes
    /// `dir/ca.pem` and `dir/ca.key` (mode 0600), each atomically.
    ///
    /// # Errors
    ///
    /// - [`Error::Exists`] if `dir/ca.pem` or `dir/ca.key` already exists
    ///   (an existing CA is never overwritten);
    /// - [`Error::Write`] if the directory or a file cannot be written;
    /// - [`Error::Generate`] if key generation or signing fails.
    pub fn init(dir: &Path) -> Result<Ca, Error> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        for path in [&cert_path, &key_path] {
            if path.symlink_metadata().is_ok() {
                return Err(Error::Exists { path: path.clone() });
            }
        }
        files::create_dir(dir)?;

        let key = generate_key()?;
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, CA_COMMON_NAME);
        // Path length 0: the CA signs leaves only, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_VALIDITY;
        let cert = params
            .self_signed(&key)
            .map_err(|source| Error::Generate { source })?;
        let cert_pem = cert.pem();
        let key_pem = private_key_pem(key.serialized_der())?;
        // Both files or neither: the key without its certificate is useless.
        write_pair(
            (&key_path, key_pem.as_bytes()),
            (&cert_path, cert_pem.as_bytes()),
            Existing::Refuse,
        )?;
        Ok(Ca {
            cert_pem,
            cert_path,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads the CA from `dir/ca.pem` and `dir/ca.key`.
    ///
    /// # Errors
    ///
    /// - [`Error::Read`] if a file cannot be read;
    /// - [`Error::BadPem`] if `ca.pem` holds no parsable certificate;
    /// - [`Error::NotCa`] if that certificate is not a CA;
    /// - [`Error::BadKey`] if `ca.key` holds no usable private key;
    /// - [`Error::KeyMismatch`] if the key is not the certificate's.
    pub fn load(dir: &Path) -> Result<Ca, Error> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);

        let cert_bytes = files::read(&cert_path)?;
        let bad_pem = || Error::BadPem {
            path: cert_path.clone(),
        };
        let cert_pem = String::from_utf8(cert_bytes).map_err(|_| bad_pem())?;
        let ders = files::certificates_from_pem(cert_pem.as_bytes(), &cert_path)?;
        let [der] = ders.as_slice() else {
            // A CA file holds exactly one certificate.
            return Err(bad_pem());
        };
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(der.as_ref())
            .map_err(|_| bad_pem())?;
        if !parsed.is_ca() {
            return Err(Error::NotCa { path: cert_path });
        }

        let bad_key = || Error::BadKey {
            path: key_path.clone(),
        };
        // The DER is wiped when dropped (rcgen keeps its own copy inside
        // the `KeyPair`).
        let key_der = Zeroizing::new(files::private_key(&key_path)?);
        let key = KeyPair::try_from(&*key_der).map_err(|_| bad_key())?;
        if key.public_key_raw() != parsed.public_key().subject_public_key.data.as_ref() {
            return Err(Error::KeyMismatch {
                cert: cert_path,
                key: key_path,
            });
        }
        let issuer = Issuer::from_ca_cert_der(der, key).map_err(|_| bad_pem())?;
        Ok(Ca {
            cert_pem,
            cert_path,
            issuer,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Where the CA certificate lives (`dir/ca.pem`); pass it to
    /// [`IssuedCert::write`].
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Issues a leaf certificate and a fresh ECDSA P-256 key for `role`/`name`.
    ///
    /// The certificate carries the URI name `urn:symbolon:<role>:<name>`. For
    /// server roles (coordinator, custodian) it also carries DNS `localhost`
    /// and IP `127.0.0.1` and both the serverAuth and clientAuth usages (they
    /// call each other); a client certificate carries clientAuth only. Each
    /// of `extra_hosts` (IP address or DNS name) is added as a further name.
    /// Valid for [`LEAF_VALIDITY`].
    ///
    /// # Errors
    ///
    /// - [`Error::BadName`] if `name` does not match `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`;
    /// - [`Error::BadHost`] if an extra host is neither an IP address nor a DNS name;
    /// - [`Error::Generate`] if key generation or signing fails.
    pub fn issue(
        &self,
        role: Role,
        name: &str,
        extra_hosts: &[String],
    ) -> Result<IssuedCert, Error> {
        check_name(name)?;
        let identity = PeerIdentity {
            role,
            name: name.to_owned(),
        };

        let mut sans = vec![SanType::URI(ia5(identity.uri(), || Error::BadName {
            name: name.to_owned(),
        })?)];
        if role.is_server() {
            sans.push(SanType::DnsName(ia5("localhost".to_owned(), || {
                Error::BadHost {
                    host: "localhost".to_owned(),
                }
            })?));
            sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        for host in extra_hosts {
            let san = host_san(host)?;
            if !sans.contains(&san) {
                sans.push(san);
            }
        }

        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, role.as_str());
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = if role.is_server() {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
        params.use_authority_key_identifier_extension = true;
        params.not_before = now - BACKDATE;
        params.not_after = now + LEAF_VALIDITY;

        let key = generate_key()?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| Error::Generate { source })?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: private_key_pem(key.serialized_der())?,
        })
    }
}

fn generate_key() -> Result<KeyPair, Error> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| Error::Generate { source })
}

/// The PEM type label of a PKCS#8 private key (RFC 7468 §10).
const KEY_LABEL: &str = "PRIVATE KEY";

/// The PKCS#8 `der` as PEM (RFC 7468, LF line endings), encoded by
/// `pem-rfc7468` (constant-time base64) straight into one buffer of the
/// exact size that is wiped when dropped.
///
/// `rcgen`'s `serialize_pem` would leave copies behind (a cloned DER, a
/// base64 string, a growing output string, none wiped) and encodes base64
/// through a lookup table indexed by key bytes.
fn private_key_pem(der: &[u8]) -> Result<Zeroizing<String>, Error> {
    let pem_error = |source| Error::PemEncode { source };
    let len =
        pem_rfc7468::encoded_len(KEY_LABEL, pem_rfc7468::LineEnding::LF, der).map_err(pem_error)?;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let written = pem_rfc7468::encode(KEY_LABEL, pem_rfc7468::LineEnding::LF, der, &mut buf)
        .map_err(pem_error)?
        .len();
    buf.truncate(written);
    // PEM is ASCII, so this moves the buffer without copying; on the
    // impossible failure the bytes are wiped before the error is returned.
    String::from_utf8(std::mem::take(&mut *buf))
        .map(Zeroizing::new)
        .map_err(|e| {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            pem_error(pem_rfc7468::Error::CharacterEncoding)
        })
}

/// Writes a private key (mode 0600) and its certificate (mode 0644)
/// together: both land or, up to a failed rename while replacing, neither.
fn write_pair(
    (key_path, key): (&Path, &[u8]),
    (cert_path, cert): (&Path, &[u8]),
    existing: Existing,
) -> Result<(), Error> {
    let staged = vec![
        StagedFile::with_contents(key_path, key, 0o600)?,
        StagedFile::with_contents(cert_path, cert, 0o644)?,
    ];
    StagedFile::commit_all(staged, existing)
}

fn ia5(s: String, err: impl FnOnce() -> Error) -> Result<rcgen::string::Ia5String, Error> {
    rcgen::string::Ia5String::try_from(s).map_err(|_| err())
}

/// The subject alternative name for an extra host: an IP address, else a DNS name.
fn host_san(host: &str) -> Result<SanType, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = || Error::BadHost {
        host: host.to_owned(),
    };
    if !is_dns_name(host) {
        return Err(bad());
    }
    Ok(SanType::DnsName(ia5(host.to_ascii_lowercase(), bad)?))
}

/// A hostname per RFC 1123 §2.1: dot-separated labels of 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen, 253 bytes at most.
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A freshly issued leaf certificate and its private key, both PEM.
pub struct IssuedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM; wiped when dropped.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl IssuedCert {
    /// Writes `dir/<stem>.key` (mode 0600) and `dir/<stem>.pem` together
    /// (see [`StagedFile::commit_all`]) and returns the [`TlsFiles`] naming
    /// them together with `ca_pem_path` (normally [`Ca::cert_path`], or a
    /// copy of the CA certificate the member keeps). `dir` is created (mode
    /// 0700) if missing.
    ///
    /// With [`Existing::Refuse`], neither file is written if either exists;
    /// [`Existing::Replace`] replaces both (a re-issue).
    ///
    /// # Errors
    ///
    /// [`Error::BadName`] if `stem` is not a valid name (so it cannot escape
    /// `dir`); [`Error::Exists`] naming the key or certificate file that
    /// already exists (with [`Existing::Refuse`]); [`Error::Write`] if a
    /// file cannot be written (or, replacing, a directory is in its place).
    pub fn write(
        &self,
        dir: &Path,
        stem: &str,
        ca_pem_path: &Path,
        existing: Existing,
    ) -> Result<TlsFiles, Error> {
        check_name(stem)?;
        files::create_dir(dir)?;
        let cert = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        write_pair(
            (&key, self.key_pem.as_bytes()),
            (&cert, self.cert_pem.as_bytes()),
            existing,
        )?;
        Ok(TlsFiles {
            ca: ca_pem_path.to_owned(),
            cert,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::peer_of;
    use rustls_pki_types::CertificateDer;
    use x509_parser::extensions::GeneralName;

    fn der_of(pem: &str) -> CertificateDer<'static> {
        files::certificates_from_pem(pem.as_bytes(), Path::new("test"))
            .unwrap()
            .remove(0)
    }

    #[test]
    fn server_leaf_has_identity_hosts_and_both_usages() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(dir.path()).unwrap();
        let issued = ca
            .issue(
                Role::Custodian,
                "c-1",
                &["10.0.0.7".to_owned(), "Custodian1.Example".to_owned()],
            )
            .unwrap();
        let der = der_of(&issued.cert_pem);
        let peer = peer_of(std::slice::from_ref(&der)).unwrap();
        assert_eq!(peer, PeerIdentity::new(Role::Custodian, "c-1").unwrap());

        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).unwrap();
        assert!(!cert.is_ca());
        let san = cert.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::URI(u) => format!("uri:{u}"),
                GeneralName::DNSName(d) => format!("dns:{d}"),
                GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "uri:urn:symbolon:custodian:c-1",
                "dns:localhost",
                "ip:[127, 0, 0, 1]",
                "ip:[10, 0, 0, 7]",
                "dns:custodian1.example"
            ]
        );
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let validity = cert.validity().time_to_expiration().unwrap();
        assert!(validity > time::Duration::days(364) && validity <= LEAF_VALIDITY);
        assert!(issued.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{issued:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn private_key_pem_is_rcgens_pem_without_its_copies() {
        // RFC 4648 §10 vectors, inside the PEM frame.
        for (der, b64) in [
            (&b"f"[..], "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(
                *private_key_pem(der).unwrap(),
                format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
            );
        }
        // Real keys (138 bytes of DER: three lines, the last one short), and
        // a line of exactly 64 characters (48 bytes).
        for _ in 0..4 {
            let key = generate_key().unwrap();
            let pem = private_key_pem(key.serialized_der()).unwrap();
            assert_eq!(*pem, key.serialize_pem());
            assert_eq!(pem.len(), pem.capacity(), "sized exactly: never regrown");
        }
        let pem = private_key_pem(&[0xff; 48]).unwrap();
        assert_eq!(pem.lines().nth(1).unwrap(), "/".repeat(64));
        assert_eq!(pem.lines().count(), 3);
    }

    #[test]
    fn write_refuses_existing_files_unless_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(&dir.path().join("ca")).unwrap();
        let out = dir.path().join("certs");
        let first = ca.issue(Role::Client, "bob", &[]).unwrap();
        let files = first
            .write(&out, "bob", ca.cert_path(), Existing::Refuse)
            .unwrap();
        assert_eq!(files.key, out.join("bob.key"));
        assert_eq!(files.cert, out.join("bob.pem"));

        let second = ca.issue(Role::Client, "bob", &[]).unwrap();
        assert!(matches!(
            second.write(&out, "bob", ca.cert_path(), Existing::Refuse),
            Err(Error::Exists { path }) if path == out.join("bob.key")
        ));
        assert_eq!(
            std::fs::read(out.join("bob.key")).unwrap(),
            first.key_pem.as_bytes()
        );
        assert_eq!(
            std::fs::read_to_string(out.join("bob.pem")).unwrap(),
            first.cert_pem
        );
        // The certificate alone is enough to refuse, and the key is not written.
        std::fs::remove_file(out.join("bob.key")).unwrap();
        assert!(matches!(
            second.write(&out, "bob", ca.cert_path(), Existing::Refuse),
            Err(Error::Exists { path }) if path == out.join("bob.pem")
        ));
        assert!(!out.join("bob.key").exists());

        second
            .write(&out, "bob", ca.cert_path(), Existing::Replace)
            .unwrap();
        assert_eq!(
            std::fs::read(out.join("bob.key")).unwrap(),
            second.key_pem.as_bytes()
        );
        assert_eq!(
            std::fs::read_to_string(out.join("bob.pem")).unwrap(),
            second.cert_pem
        );
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            2,
            "no temporaries"
        );
    }

    #[test]
    fn client_leaf_is_client_auth_only_without_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(dir.path()).unwrap();
        let issued = ca.issue(Role::Client, "alice", &[]).unwrap();
        let der = der_of(&issued.cert_pem);
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(san.value.general_names.len(), 1);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
    }

    #[test]
    fn ca_is_a_ten_year_p256_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(dir.path()).unwrap();
        let der = der_of(ca.cert_pem());
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).unwrap();
        assert!(cert.is_ca());
        assert_eq!(
            cert.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            CA_COMMON_NAME
        );
        let left = cert.validity().time_to_expiration().unwrap();
        assert!(left > CA_VALIDITY - time::Duration::days(1) && left <= CA_VALIDITY);
        assert!(format!("{ca:?}").contains("<redacted>"));
    }

    #[test]
    fn bad_names_and_hosts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(dir.path()).unwrap();
        assert!(matches!(
            ca.issue(Role::Client, "../etc", &[]),
            Err(Error::BadName { name }) if name == "../etc"
        ));
        for host in ["", "a..b", "-a.b", "a_b.c", "a b", "ä.example"] {
            assert!(
                matches!(
                    ca.issue(Role::Coordinator, "coord", &[host.to_owned()]),
                    Err(Error::BadHost { host: h }) if h == host
                ),
                "{host:?}"
            );
        }
        let issued = ca.issue(Role::Client, "bob", &[]).unwrap();
        assert!(matches!(
            issued.write(dir.path(), "../bob", ca.cert_path(), Existing::Refuse),
            Err(Error::BadName { .. })
        ));
    }

    #[test]
    fn loaded_ca_issues_certificates_that_chain_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = Ca::init(dir.path()).unwrap();
        let loaded = Ca::load(dir.path()).unwrap();
        assert_eq!(first.cert_pem(), loaded.cert_pem());
        let issued = loaded.issue(Role::Coordinator, "coord", &[]).unwrap();
        let leaf = der_of(&issued.cert_pem);
        let (_, leaf) = x509_parser::certificate::X509Certificate::from_der(leaf.as_ref()).unwrap();
        let ca_der = der_of(first.cert_pem());
        let (_, ca) = x509_parser::certificate::X509Certificate::from_der(ca_der.as_ref()).unwrap();
        assert_eq!(leaf.issuer(), ca.subject());
        leaf.verify_signature(Some(ca.public_key())).unwrap();
    }

    #[test]
    fn load_refuses_a_key_of_another_ca() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        Ca::init(a.path()).unwrap();
        Ca::init(b.path()).unwrap();
        std::fs::copy(b.path().join(CA_KEY_FILE), a.path().join(CA_KEY_FILE)).unwrap();
        assert!(matches!(
            Ca::load(a.path()),
            Err(Error::KeyMismatch { cert, key })
                if cert == a.path().join(CA_CERT_FILE) && key == a.path().join(CA_KEY_FILE)
        ));
    }

    #[test]
    fn load_refuses_a_leaf_as_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(dir.path()).unwrap();
        let issued = ca.issue(Role::Client, "x", &[]).unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join(CA_CERT_FILE), &issued.cert_pem).unwrap();
        std::fs::write(other.path().join(CA_KEY_FILE), issued.key_pem.as_bytes()).unwrap();
        assert!(matches!(
            Ca::load(other.path()),
            Err(Error::NotCa { path }) if path == other.path().join(CA_CERT_FILE)
        ));
    }
}
