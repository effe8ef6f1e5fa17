//! `generate-keys`, `generate-token`, `generate-api-key` and `show-permissions`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{Permission, PermissionSet, Resource, Role};
use tasker_permissions::suggest;

use crate::Failure;
use crate::cli::{AlgorithmArg, GenerateApiKey, GenerateKeys, GenerateToken};

pub(crate) const PRIVATE_KEY_FILE: &str = "jwt-private-key.pem";
pub(crate) const PUBLIC_KEY_FILE: &str = "jwt-public-key.pem";
pub(crate) const JWKS_FILE: &str = "jwks.json";

/// Files read by tasker-ctl are keys and key sets: anything bigger is a mistake.
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

pub(crate) fn generate_keys(args: &GenerateKeys) -> Result<(), Failure> {
    let algorithm = match (args.algorithm, args.key_size) {
        (AlgorithmArg::Rs256, bits) => {
            let bits = bits.unwrap_or(2048);
            if bits < 2048 {
                return Err(Failure::new(format!(
                    "RSA keys below 2048 bits are refused as too weak (--key-size {bits}); use 2048, 3072 or 4096"
                )));
            }
            KeyAlgorithm::Rs256 { bits }
        }
        (AlgorithmArg::Es256 | AlgorithmArg::Eddsa, Some(_)) => {
            return Err(Failure::new(
                "--key-size applies to --algorithm rs256 only (es256 and eddsa keys have a fixed size)",
            ));
        }
        (AlgorithmArg::Es256, None) => KeyAlgorithm::Es256,
        (AlgorithmArg::Eddsa, None) => KeyAlgorithm::EdDsa,
    };

    let dir = &args.output_dir;
    fs::create_dir_all(dir).map_err(|e| {
        Failure::new(format!(
            "cannot create output directory {}: {e}",
            dir.display()
        ))
    })?;
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    let jwks_path = dir.join(JWKS_FILE);
    if !args.force {
        // Checked up front so that a refusal leaves no half-written set behind.
        for path in [&private_path, &public_path, &jwks_path] {
            if path.exists() {
                return Err(Failure::new(format!(
                    "{} already exists; refusing to overwrite it (pass --force to replace the key pair; \
                     tokens signed by the old key will stop verifying)",
                    path.display()
                )));
            }
        }
    }

    let key = KeyPair::generate(algorithm).map_err(|e| Failure::new(e.to_string()))?;
    write_file(&private_path, key.private_key_pem(), 0o600, args.force)?;
    write_file(&public_path, &key.public_key_pem(), 0o644, args.force)?;
    write_file(&jwks_path, &key.jwks_json(), 0o644, args.force)?;

    let alg = alg_name(&key);
    outln!("Generated an {alg} key pair (kid {}):", key.kid())?;
    outln!(
        "  {}  private key, mode 0600: keep it secret",
        private_path.display()
    )?;
    outln!(
        "  {}  public key, for jwt_public_key_path",
        public_path.display()
    )?;
    outln!("  {}  JWK set, to serve at jwks_url", jwks_path.display())?;
    outln!("")?;
    outln!("Server configuration (paste as is into the TOML file):")?;
    outln!("")?;
    outln!("[web.auth]")?;
    outln!("enabled = true")?;
    outln!("jwt_verification_method = \"public_key\"")?;
    outln!(
        "jwt_public_key_path = {}",
        toml_string(&public_path.display().to_string())
    )?;
    outln!("jwt_allowed_algorithms = [\"{alg}\"]")?;
    outln!("")?;
    outln!("Mint a token:")?;
    outln!(
        "  tasker-ctl auth generate-token --private-key {} --role read-only",
        shell_word(&private_path)
    )?;
    Ok(())
}

pub(crate) fn generate_token(args: &GenerateToken) -> Result<(), Failure> {
    let grants = requested_grants(args.permissions.as_deref(), args.role.as_deref())?
        .ok_or_else(|| Failure::new("give --permissions LIST or --role NAME"))?;
    if args.subject.trim().is_empty() {
        return Err(Failure::new(
            "--subject must not be empty: it names who the token speaks for",
        ));
    }
    let key = load_private_key(&args.private_key)?;
    let request = TokenRequest {
        subject: args.subject.clone(),
        permissions: grants.clone(),
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        ttl: Duration::from_secs(args.expiry_hours * 3600),
        kid: args.kid.clone(),
    };
    let token = key
        .mint(&request)
        .map_err(|e| Failure::new(format!("cannot mint the token: {e}")))?;

    let granted = PermissionSet::parse_grants(grants.iter().map(String::as_str)).permissions;
    let expires = SystemTime::now() + request.ttl;
    errln!(
        "Token for `{}` (iss {}, aud {}), {} signed, kid {}",
        request.subject,
        request.issuer,
        request.audience,
        alg_name(&key),
        request.kid.as_deref().unwrap_or(key.kid())
    );
    errln!("  permissions: {}", grants.join(", "));
    errln!("  grants:      {}", list(granted));
    errln!(
        "  expires:     {} (in {} h)",
        rfc3339(expires),
        args.expiry_hours
    );
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{token}")
        .and_then(|()| stdout.flush())
        .map_err(crate::stdout_failure)
}

pub(crate) fn generate_api_key(args: &GenerateApiKey) -> Result<(), Failure> {
    let grants =
        requested_grants(args.permissions.as_deref(), args.role.as_deref())?.unwrap_or_default();
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Failure::new("the system random number generator failed"))?;
    let key = format!("tsk_{}", URL_SAFE_NO_PAD.encode(bytes));

    errln!("A new API key (shown once: give it to the client, e.g. as TASKER_API_KEY).");
    errln!("Then add the entry below to the server configuration, with api_keys_enabled = true.");
    if grants.is_empty() {
        errln!(
            "It grants nothing yet: fill in `permissions` (see `tasker-ctl auth show-permissions`)."
        );
    }
    outln!("{key}")?;
    outln!("")?;
    outln!("[[web.auth.api_keys]]")?;
    outln!("key_sha256 = \"{}\"", tasker_auth::hash_api_key(&key))?;
    let quoted: Vec<String> = grants.iter().map(|g| toml_string(g)).collect();
    outln!("permissions = [{}]", quoted.join(", "))?;
    outln!("description = {}", toml_string(&args.description))?;
    Ok(())
}

pub(crate) fn show_permissions() -> Result<(), Failure> {
    outln!("Permissions (resource:action), by resource:")?;
    for resource in Resource::ALL.iter().copied().filter(|r| !r.is_public()) {
        let names: Vec<&str> = resource.permissions().map(Permission::as_str).collect();
        outln!("  {:<10} {}", resource.as_str(), names.join("  "))?;
    }
    outln!("")?;
    outln!("Wildcards:")?;
    outln!(
        "  resource:*  grants every permission of that resource, e.g. dlq:* = dlq:read, dlq:update, dlq:stats"
    )?;
    outln!(
        "  *           grants nothing (it is not a superuser); strict servers refuse tokens carrying it"
    )?;
    let public: Vec<&str> = Resource::ALL
        .iter()
        .filter(|r| r.is_public())
        .map(|r| r.as_str())
        .collect();
    outln!(
        "  public resources ({}) need no credentials and cannot be granted",
        public.join(", ")
    )?;
    outln!("")?;
    outln!("Role presets (--role NAME):")?;
    for role in Role::ALL {
        outln!("  {:<15} {}", role.as_str(), role.grants().join(", "))?;
        outln!("  {:<15} = {}", "", list(role.permissions()))?;
    }
    Ok(())
}

/// The grants named by `--permissions` or `--role`, checked against the vocabulary.
/// `None` when neither is given.
fn requested_grants(
    permissions: Option<&[String]>,
    role: Option<&str>,
) -> Result<Option<Vec<String>>, Failure> {
    if let Some(role) = role {
        let role = Role::from_str(role.trim()).map_err(|e| Failure::new(e.to_string()))?;
        return Ok(Some(
            role.grants().iter().map(|g| (*g).to_owned()).collect(),
        ));
    }
    let Some(permissions) = permissions else {
        return Ok(None);
    };
    let mut grants: Vec<String> = Vec::new();
    for p in permissions
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        if !grants.iter().any(|g| g == p) {
            grants.push(p.to_owned());
        }
    }
    if grants.is_empty() {
        return Err(Failure::new(
            "--permissions is empty; give at least one, e.g. --permissions tasks:read",
        ));
    }
    let parsed = PermissionSet::parse_grants(grants.iter().map(String::as_str));
    if !parsed.unknown.is_empty() {
        let mut message = String::new();
        for unknown in &parsed.unknown {
            let hint = match unknown.as_str() {
                "*" => {
                    " (bare `*` grants nothing; use resource wildcards such as tasks:*)".to_owned()
                }
                other => suggest::grant(other)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default(),
            };
            message.push_str(&format!("unknown permission `{unknown}`{hint}; "));
        }
        message.push_str("run `tasker-ctl auth show-permissions` for the vocabulary");
        return Err(Failure::new(message));
    }
    Ok(Some(grants))
}

pub(crate) fn load_private_key(path: &Path) -> Result<KeyPair, Failure> {
    let text = read_text(path, "private key")?;
    KeyPair::from_private_pem(&text).map_err(|e| Failure::new(format!("{}: {e}", path.display())))
}

/// Reads a small text file, with an error naming the file and what it was expected to be.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, Failure> {
    let cannot = |e: std::io::Error| {
        Failure::new(format!("cannot read {what} file {}: {e}", path.display()))
    };
    let meta = fs::metadata(path).map_err(cannot)?;
    if meta.is_dir() {
        return Err(Failure::new(format!(
            "cannot read {what} file {}: it is a directory",
            path.display()
        )));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Failure::new(format!(
            "{what} file {} is larger than 1 MiB; is it the right file?",
            path.display()
        )));
    }
    let bytes = fs::read(path).map_err(cannot)?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::new(format!(
            "{what} file {} is not text (expected PEM or JSON)",
            path.display()
        ))
    })
}

fn write_file(path: &PathBuf, contents: &str, mode: u32, overwrite: bool) -> Result<(), Failure> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        // create_new: never clobber a file that appeared since the up-front check.
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let cannot = |e: std::io::Error| Failure::new(format!("cannot write {}: {e}", path.display()));
    let mut file = options.open(path).map_err(cannot)?;
    #[cfg(unix)]
    {
        // The mode of open() applies only to new files: an overwritten key gets it here.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(cannot)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(cannot)
}

pub(crate) fn alg_name(key: &KeyPair) -> &'static str {
    match key.algorithm() {
        jsonwebtoken::Algorithm::RS256 => "RS256",
        jsonwebtoken::Algorithm::ES256 => "ES256",
        jsonwebtoken::Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

pub(crate) fn list(set: PermissionSet) -> String {
    if set.is_empty() {
        return "(nothing)".to_owned();
    }
    set.iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn rfc3339(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    unix_rfc3339(secs)
}

pub(crate) fn unix_rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} (unix time)"))
}

/// A TOML basic string. JSON string escapes are valid TOML escapes.
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_grants_dedupes_and_trims() {
        let given = vec![
            " tasks:read".to_owned(),
            "tasks:read".into(),
            "".into(),
            "dlq:*".into(),
        ];
        assert_eq!(
            requested_grants(Some(&given), None).unwrap(),
            Some(vec!["tasks:read".to_owned(), "dlq:*".to_owned()])
        );
    }

    #[test]
    fn requested_grants_refuses_bare_star_and_unknown_names() {
        let err = requested_grants(Some(&["*".to_owned()]), None).unwrap_err();
        assert!(err.0.contains("bare `*` grants nothing"), "{err}");
        let err = requested_grants(Some(&["tasks:creat".to_owned()]), None).unwrap_err();
        assert!(err.0.contains("did you mean `tasks:create`"), "{err}");
        let err = requested_grants(Some(&["tasks:lsit".to_owned()]), None).unwrap_err();
        assert!(err.0.contains("did you mean `tasks:list`"), "{err}");
        let err = requested_grants(None, Some("admin")).unwrap_err();
        assert!(err.0.contains("unknown role `admin`"), "{err}");
    }

    #[test]
    fn toml_string_escapes_quotes() {
        assert_eq!(toml_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
