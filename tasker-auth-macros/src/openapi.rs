//! The OpenAPI side of `#[requires]`: rewriting the `#[utoipa::path(...)]` below it so that the
//! operation documents what the guard enforces: `x-required-permission`, the two
//! security requirements, and the 401 and 403 responses.
//!
//! utoipa's path attribute is a comma-separated list of `name ...` entries; this module only
//! touches the `responses(...)`, `security(...)` and `extensions(...)` entries (adding those that
//! are missing) and leaves every other token, and its span, as the user wrote it.

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::{Attribute, Meta};
use tasker_permissions::Permission;

/// The security schemes `#[requires]` adds to an operation; a UI test (`tests/ui/requires/pass/openapi.rs`)
/// ties them and [`EXTENSION`] to `tasker_auth::openapi`'s constants.
const SECURITY_SCHEMES: [&str; 2] = ["bearer_auth", "api_key_auth"];
/// The extension naming the permission of an operation.
const EXTENSION: &str = "x-required-permission";

/// Rewrites the utoipa path attribute `attr` for an operation guarded by `permission`.
pub(crate) fn rewrite(attr: &mut Attribute, permission: Permission, span: Span) -> syn::Result<()> {
    let Meta::List(list) = &mut attr.meta else {
        return Ok(());
    };
    let mut entries = split_top_level(list.tokens.clone());
    let mut seen = (false, false, false);

    for entry in &mut entries {
        let name = match entry.first() {
            Some(TokenTree::Ident(ident)) => ident.to_string(),
            _ => continue,
        };
        let Some(TokenTree::Group(group)) = entry.get(1) else {
            continue;
        };
        if group.delimiter() != Delimiter::Parenthesis {
            continue;
        }
        let group_span = group.span();
        let inner = group.stream();
        let new_inner = match name.as_str() {
            "responses" => {
                seen.0 = true;
                append(inner.clone(), missing_responses(&inner, permission, span))
            }
            "security" => {
                seen.1 = true;
                append(inner.clone(), missing_security(&inner, span))
            }
            "extensions" => {
                seen.2 = true;
                reject_own_extension(&inner)?;
                append(inner, extension(permission, span))
            }
            _ => continue,
        };
        let mut group = Group::new(Delimiter::Parenthesis, new_inner);
        group.set_span(group_span);
        entry[1] = TokenTree::Group(group);
    }

    let mut tokens = join(entries);
    let all_responses = missing_responses(&TokenStream::new(), permission, span);
    let all_security = missing_security(&TokenStream::new(), span);
    let extension = extension(permission, span);
    let mut add = |more: TokenStream| tokens = append(std::mem::take(&mut tokens), more);
    if !seen.0 {
        add(quote_spanned!(span=> responses(#all_responses)));
    }
    if !seen.1 {
        add(quote_spanned!(span=> security(#all_security)));
    }
    if !seen.2 {
        add(quote_spanned!(span=> extensions(#extension)));
    }
    list.tokens = tokens;
    Ok(())
}

/// `("x-required-permission" = json!("tasks:create"))`
fn extension(permission: Permission, span: Span) -> TokenStream {
    let name = Literal::string(EXTENSION);
    let value = Literal::string(permission.as_str());
    quote_spanned!(span=> (#name = json!(#value)))
}

fn reject_own_extension(inner: &TokenStream) -> syn::Result<()> {
    for tree in inner.clone() {
        let TokenTree::Group(group) = tree else {
            continue;
        };
        if let Some(TokenTree::Literal(lit)) = group.stream().into_iter().next()
            && lit.to_string() == format!("\"{EXTENSION}\"")
        {
            return Err(syn::Error::new(
                lit.span(),
                "`x-required-permission` is written by `#[requires]`: remove it from \
                 `extensions(...)`",
            ));
        }
    }
    Ok(())
}

/// The 401 and 403 responses, minus those the user already lists.
fn missing_responses(inner: &TokenStream, permission: Permission, span: Span) -> TokenStream {
    let (has_401, has_403) = listed_statuses(inner);
    let mut out = TokenStream::new();
    if !has_401 {
        out.extend(quote_spanned!(span=> (
            status = 401,
            description = "Authentication failed: credentials missing, expired, invalid or malformed (see `x-auth-failure-reason`)",
            body = ::tasker_auth::ErrorBody,
            content_type = "application/json"
        ),));
    }
    if !has_403 {
        let description = Literal::string(&format!(
            "The caller lacks the permission `{}`",
            permission.as_str()
        ));
        out.extend(quote_spanned!(span=> (
            status = 403,
            description = #description,
            body = ::tasker_auth::ErrorBody,
            content_type = "application/json"
        ),));
    }
    out
}

/// Which of 401 and 403 the `responses(...)` content lists, by number or by `StatusCode` name.
fn listed_statuses(inner: &TokenStream) -> (bool, bool) {
    let mut found = (false, false);
    for tree in inner.clone() {
        let TokenTree::Group(group) = tree else {
            continue;
        };
        let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
        let Some(at) = tokens
            .iter()
            .position(|t| matches!(t, TokenTree::Ident(i) if i == "status"))
        else {
            continue;
        };
        for token in tokens.iter().skip(at + 1) {
            match token {
                TokenTree::Punct(p) if p.as_char() == ',' => break,
                TokenTree::Literal(lit) => match lit.to_string().trim_matches('"') {
                    "401" => found.0 = true,
                    "403" => found.1 = true,
                    _ => {}
                },
                TokenTree::Ident(i) if i == "UNAUTHORIZED" => found.0 = true,
                TokenTree::Ident(i) if i == "FORBIDDEN" => found.1 = true,
                _ => {}
            }
        }
    }
    found
}

/// `("bearer_auth" = []), ("api_key_auth" = [])`, minus the schemes the user already lists.
fn missing_security(inner: &TokenStream, span: Span) -> TokenStream {
    let listed: Vec<String> = inner
        .clone()
        .into_iter()
        .filter_map(|tree| match tree {
            TokenTree::Group(group) => Some(group.stream().to_string()),
            _ => None,
        })
        .collect();
    let mut out = TokenStream::new();
    for scheme in SECURITY_SCHEMES {
        let quoted = format!("\"{scheme}\"");
        if listed.iter().any(|g| g.contains(&quoted)) {
            continue;
        }
        let name = Literal::string(scheme);
        out.extend(quote_spanned!(span=> (#name = []),));
    }
    out
}

/// Splits a token stream at its top-level commas (commas inside groups are not top-level).
fn split_top_level(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut entries = vec![Vec::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => entries.push(Vec::new()),
            _ => entries.last_mut().map_or((), |e| e.push(tree)),
        }
    }
    entries.retain(|e| !e.is_empty());
    entries
}

fn join(entries: Vec<Vec<TokenTree>>) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, entry) in entries.into_iter().enumerate() {
        if i > 0 {
            out.extend(quote!(,));
        }
        out.extend(entry);
    }
    out
}

/// `tokens` followed by `more`, with a comma between them when both are non-empty.
fn append(tokens: TokenStream, more: TokenStream) -> TokenStream {
    if more.is_empty() {
        return tokens;
    }
    let ends_with_comma = matches!(
        tokens.clone().into_iter().last(),
        Some(TokenTree::Punct(p)) if p.as_char() == ','
    );
    let mut out = tokens;
    if !out.is_empty() && !ends_with_comma {
        out.extend(quote!(,));
    }
    out.extend(more);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(attr: TokenStream) -> String {
        let mut attr: Attribute = syn::parse_quote!(#[utoipa::path(#attr)]);
        rewrite(&mut attr, Permission::TasksCreate, Span::call_site()).unwrap();
        match attr.meta {
            Meta::List(list) => list.tokens.to_string(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn missing_entries_are_added() {
        let out = rewritten(quote!(post, path = "/v1/tasks"));
        assert!(
            out.starts_with("post , path = \"/v1/tasks\" , responses ("),
            "{out}"
        );
        assert!(out.contains("status = 401"), "{out}");
        assert!(out.contains("status = 403"), "{out}");
        assert!(
            out.contains("security ((\"bearer_auth\" = []) , (\"api_key_auth\" = []) ,)"),
            "{out}"
        );
        assert!(
            out.contains("extensions ((\"x-required-permission\" = json ! (\"tasks:create\")))"),
            "{out}"
        );
    }

    #[test]
    fn existing_entries_are_merged() {
        let out = rewritten(quote!(
            post,
            path = "/v1/tasks",
            responses(
                (status = 201, description = "created"),
                (status = StatusCode::FORBIDDEN, description = "no")
            ),
            security(("bearer_auth" = [])),
            extensions(("x-owner" = json!("team-a"))),
        ));
        assert!(out.contains("status = 401"), "{out}");
        assert_eq!(out.matches("403").count(), 0, "{out}");
        assert_eq!(out.matches("bearer_auth").count(), 1, "{out}");
        assert_eq!(out.matches("api_key_auth").count(), 1, "{out}");
        assert!(
            out.contains("(\"x-owner\" = json ! (\"team-a\")) , (\"x-required-permission\""),
            "{out}"
        );
        assert_eq!(out.matches("responses").count(), 1, "{out}");
    }

    #[test]
    fn own_extension_is_rejected() {
        let mut attr: Attribute = syn::parse_quote!(#[utoipa::path(get, extensions(("x-required-permission" = json!("x"))))]);
        let err = rewrite(&mut attr, Permission::TasksRead, Span::call_site()).unwrap_err();
        assert!(err.to_string().contains("remove it"));
    }
}
