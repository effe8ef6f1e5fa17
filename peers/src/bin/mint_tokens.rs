//! Mints many distinct RS256 tokens for the load runs, one per line on stdout, signing on every
//! core (RSA-2048 signing is the slow part: about a millisecond per token per core).
//!
//! ```text
//! mint-tokens --private-key keys/jwt-private-key.pem --count 200000 > tokens.txt
//! ```
//!
//! Tokens carry `sub`, `iss`, `aud`, `iat`, `exp`, a distinct `jti` and `permissions`, and a
//! `kid` that defaults to the key's RFC 7638 thumbprint, as `tasker-ctl auth generate-token`
//! mints them. `--expires-in` may be negative (already expired tokens); `--kid` may name a key
//! the server does not know.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Mint distinct RS256 tokens, one per line")]
struct Args {
    /// The RSA private key (PEM) that signs.
    #[arg(long, value_name = "FILE")]
    private_key: PathBuf,
    /// How many tokens.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Comma-separated permissions.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "system:analytics_read,tasks:read,tasks:list"
    )]
    permissions: Vec<String>,
    /// Seconds from now to `exp`; negative for expired tokens.
    #[arg(long, default_value_t = 86_400, allow_hyphen_values = true)]
    expires_in: i64,
    /// The header `kid` (default: the key's thumbprint).
    #[arg(long)]
    kid: Option<String>,
    /// The `iss` claim.
    #[arg(long, default_value = tasker_auth_peers::ISSUER)]
    issuer: String,
    /// The `aud` claim.
    #[arg(long, default_value = tasker_auth_peers::AUDIENCE)]
    audience: String,
    /// A prefix for `jti` and `sub`, so that runs with the same key mint different tokens.
    #[arg(long, default_value = "load")]
    label: String,
}

fn main() -> ExitCode {
    match mint(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mint-tokens: {e}");
            ExitCode::FAILURE
        }
    }
}

fn mint(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let pem = std::fs::read(&args.private_key)
        .map_err(|e| format!("cannot read {}: {e}", args.private_key.display()))?;
    let key = EncodingKey::from_rsa_pem(&pem)?;
    let kid = match &args.kid {
        Some(kid) => kid.clone(),
        None => {
            Jwk::from_encoding_key(&key, Algorithm::RS256)?.thumbprint(ThumbprintHash::SHA256)?
        }
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let sign = |i: usize| {
        let claims = json!({
            "sub": format!("{}-{i}", args.label),
            "iss": args.issuer,
            "aud": args.audience,
            "iat": now,
            "exp": now + args.expires_in,
            "jti": format!("{}-{now}-{i}", args.label),
            "permissions": args.permissions,
        });
        jsonwebtoken::encode(&header, &claims, &key)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = args.count.div_ceil(threads).max(1);
    let chunks: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.count)
            .step_by(chunk)
            .map(|start| {
                let sign = &sign;
                scope.spawn(move || {
                    (start..(start + chunk).min(args.count))
                        .map(sign)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a signing thread panicked"))
            .collect::<Result<_, _>>()
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for token in chunks.iter().flatten() {
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}
