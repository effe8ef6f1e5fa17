//! The command line: what `tasker-ctl --help` teaches.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Operator tools for Tasker.
#[derive(Debug, Parser)]
#[command(
    name = "tasker-ctl",
    version,
    about = "Operator tools for Tasker: signing keys, tokens and API keys",
    long_about = "Operator tools for Tasker.\n\n\
        `tasker-ctl auth` makes the key pairs the Tasker servers verify tokens with, mints and \
        checks tokens, and makes API keys.",
    after_help = "Start with:  tasker-ctl auth --help"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Keys, tokens and API keys for the Tasker APIs.
    #[command(
        subcommand,
        long_about = "Keys, tokens and API keys for the Tasker APIs.\n\n\
            A typical first run:\n\n  \
            tasker-ctl auth generate-keys --output-dir ./keys\n  \
            TOKEN=$(tasker-ctl auth generate-token --private-key ./keys/jwt-private-key.pem --role read-only)\n  \
            tasker-ctl auth validate-token --token \"$TOKEN\" --public-key ./keys/jwt-public-key.pem\n\n\
            The servers read the public key (`jwt_public_key_path`) or the JWK set (`jwks_url`); \
            the private key stays with whoever mints tokens."
    )]
    Auth(AuthCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Generate a signing key pair: private key (mode 0600), public key and jwks.json.
    #[command(
        long_about = "Generate a signing key pair.\n\n\
            Writes three files to --output-dir:\n  \
            jwt-private-key.pem  PKCS#8 private key, mode 0600: keep it secret; it mints tokens\n  \
            jwt-public-key.pem   SPKI public key, for the server's `jwt_public_key_path`\n  \
            jwks.json            the public key as a JWK set, for a JWKS endpoint\n\n\
            The key's `kid` is its RFC 7638 thumbprint, so it never changes for a given key. \
            Existing files are never overwritten unless --force is given.",
        after_help = "Examples:\n  \
            tasker-ctl auth generate-keys --output-dir ./keys\n  \
            tasker-ctl auth generate-keys --output-dir ./keys --algorithm es256\n  \
            tasker-ctl auth generate-keys --output-dir ./keys --algorithm rs256 --key-size 3072 --force"
    )]
    GenerateKeys(GenerateKeys),

    /// Mint a signed token for a set of permissions or a role (token alone on stdout).
    #[command(
        long_about = "Mint a signed JWT.\n\n\
            The token alone goes to stdout, so `TOKEN=$(tasker-ctl auth generate-token ...)` works; \
            what it grants and when it expires go to stderr. Give the permissions explicitly \
            (--permissions tasks:read,tasks:list; `resource:*` grants a whole resource) or by role \
            preset (--role read-only). Unknown permissions and roles are refused: see \
            `tasker-ctl auth show-permissions`. The header `kid` defaults to the key's thumbprint, \
            which is the `kid` in the jwks.json written next to the key.",
        after_help = "Examples:\n  \
            tasker-ctl auth generate-token --private-key ./keys/jwt-private-key.pem --permissions tasks:create,tasks:read\n  \
            tasker-ctl auth generate-token --private-key ./keys/jwt-private-key.pem --role ops-admin --subject alice --expiry-hours 8\n  \
            TOKEN=$(tasker-ctl auth generate-token --private-key ./keys/jwt-private-key.pem --role read-only)"
    )]
    GenerateToken(GenerateToken),

    /// Check a token exactly as a Tasker server would, and show what it grants.
    #[command(
        long_about = "Check a token with the servers' own verifier.\n\n\
            Verifies the signature against a public key or a JWK set (a file or an http(s) URL), \
            the expiry, the issuer and the audience, and the permissions claim (strictly: an \
            unknown permission refuses the token). With --config FILE, decides exactly as a server \
            started with that configuration file would, and --issuer/--audience do not apply. \
            Prints the claims and the permissions granted and exits 0, or prints why the token is \
            refused and exits 1. Text from the token is printed with control characters escaped.",
        after_help = "Examples:\n  \
            tasker-ctl auth validate-token --token \"$TOKEN\" --public-key ./keys/jwt-public-key.pem\n  \
            tasker-ctl auth validate-token --token \"$TOKEN\" --jwks ./keys/jwks.json\n  \
            tasker-ctl auth validate-token --token \"$TOKEN\" --jwks https://idp.example.com/.well-known/jwks.json --issuer https://idp.example.com --audience tasker-api\n  \
            tasker-ctl auth validate-token --token \"$TOKEN\" --config /etc/tasker/orchestration.toml\n  \
            echo \"$TOKEN\" | tasker-ctl auth validate-token --token - --public-key ./keys/jwt-public-key.pem"
    )]
    ValidateToken(ValidateToken),

    /// Make a random API key and the TOML that lets a server accept it.
    #[command(
        long_about = "Make an API key.\n\n\
            Prints a fresh random key (32 bytes from the system CSPRNG, base64url) on the first \
            line of stdout, then a `[[web.auth.api_keys]]` entry holding only its SHA-256 \
            (`key_sha256`), so the plaintext key never sits in the server's configuration. \
            Give the key to the client (e.g. as TASKER_API_KEY); it is not shown again.",
        after_help = "Examples:\n  \
            tasker-ctl auth generate-api-key --description ci-reader --permissions tasks:read,tasks:list\n  \
            tasker-ctl auth generate-api-key --description nightly-ops --role ops-admin"
    )]
    GenerateApiKey(GenerateApiKey),

    /// List the permissions, the wildcard rules and the role presets.
    #[command(
        long_about = "List the permission vocabulary: every `resource:action` permission, \
            what the `resource:*` wildcards grant, and the role presets usable with --role.",
        after_help = "Example:\n  tasker-ctl auth show-permissions"
    )]
    ShowPermissions,
}

/// The algorithm of a key pair to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AlgorithmArg {
    /// RSA with SHA-256 (RS256); --key-size 2048 (default), 3072 or 4096.
    Rs256,
    /// ECDSA P-256 with SHA-256 (ES256): small keys, fast signing.
    Es256,
    /// Ed25519 (EdDSA): small keys, fastest.
    Eddsa,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateKeys {
    /// Directory for the three files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "./keys")]
    pub(crate) output_dir: PathBuf,

    /// Key algorithm.
    #[arg(
        long,
        value_enum,
        value_name = "ALG",
        default_value = "rs256",
        ignore_case = true
    )]
    pub(crate) algorithm: AlgorithmArg,

    /// RSA modulus size in bits (rs256 only): 2048, 3072 or 4096. Below 2048 is refused.
    #[arg(long, value_name = "BITS")]
    pub(crate) key_size: Option<usize>,

    /// Replace existing key files (the old key stops verifying tokens it minted).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("grants").required(true).args(["permissions", "role"])))]
pub(crate) struct GenerateToken {
    /// The private key that signs the token (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: PathBuf,

    /// Comma-separated permissions to grant, e.g. tasks:read,tasks:list or dlq:*.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) permissions: Option<Vec<String>>,

    /// A role preset instead of --permissions: read-only, task-submitter, ops-admin,
    /// worker-service, full-access.
    #[arg(long, value_name = "NAME")]
    pub(crate) role: Option<String>,

    /// The `sub` claim: who the token speaks for.
    #[arg(long, value_name = "NAME", default_value = "tasker-client")]
    pub(crate) subject: String,

    /// Lifetime in hours, 1 to 720 (30 days).
    #[arg(long, value_name = "HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(1..=720))]
    pub(crate) expiry_hours: u64,

    /// The `iss` claim; must match the server's `jwt_issuer`.
    #[arg(long, value_name = "ISS", default_value = tasker_auth::DEFAULT_JWT_ISSUER)]
    pub(crate) issuer: String,

    /// The `aud` claim; must match the server's `jwt_audience`.
    #[arg(long, value_name = "AUD", default_value = tasker_auth::DEFAULT_JWT_AUDIENCE)]
    pub(crate) audience: String,

    /// The header `kid`. Defaults to the key's RFC 7638 thumbprint (its `kid` in jwks.json).
    #[arg(long, value_name = "KID")]
    pub(crate) kid: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("verifier").required(true).args(["public_key", "jwks", "config"])))]
pub(crate) struct ValidateToken {
    /// The token to check, or `-` to read it from stdin.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: String,

    /// A public key PEM (RSA, EC P-256/P-384 or Ed25519), as in `jwt_public_key_path`.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: Option<PathBuf>,

    /// A JWK set: a jwks.json file, or an http(s) URL serving one.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub(crate) jwks: Option<String>,

    /// A server's configuration file: decide exactly as a server started with it would
    /// (algorithms, claim, strictness, leeway, issuer, audience, public key, JWKS or OIDC
    /// discovery; `TASKER_*` environment overrides apply as for the server).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// The issuer the token must carry (`jwt_issuer`).
    #[arg(long, value_name = "ISS", default_value = tasker_auth::DEFAULT_JWT_ISSUER, conflicts_with = "config")]
    pub(crate) issuer: String,

    /// The audience the token must carry (`jwt_audience`).
    #[arg(long, value_name = "AUD", default_value = tasker_auth::DEFAULT_JWT_AUDIENCE, conflicts_with = "config")]
    pub(crate) audience: String,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("grants").args(["permissions", "role"])))]
pub(crate) struct GenerateApiKey {
    /// What the key is for; becomes the subject of requests made with it.
    #[arg(long, value_name = "TEXT", default_value = "api-client")]
    pub(crate) description: String,

    /// Comma-separated permissions to grant, e.g. tasks:read,tasks:list.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) permissions: Option<Vec<String>>,

    /// A role preset instead of --permissions.
    #[arg(long, value_name = "NAME")]
    pub(crate) role: Option<String>,
}
