//! Validation: the parsed arguments against the permission vocabulary, and the item against what
//! an axum handler guarded by `#[requires]` must be.

use proc_macro2::Span;
use syn::{Ident, ItemFn};
use tasker_permissions::{Action, Permission, Resource};

use crate::attr::{self, Args};

/// A validated permission, with the span of the user's tokens to hang generated code on.
pub(crate) struct Checked {
    pub(crate) permission: Permission,
    pub(crate) span: Span,
}

/// Checks `resource:action` against the vocabulary.
pub(crate) fn permission(args: &Args) -> syn::Result<Checked> {
    let resource_name = unraw(&args.resource);
    let action_name = unraw(&args.action);
    let written = format!("{resource_name}:{action_name}");

    if let Some(permission) = Permission::from_name(&written) {
        return Ok(Checked {
            permission,
            span: args.action.span(),
        });
    }

    let Some(resource) = Resource::from_name(&resource_name) else {
        return Err(unknown_resource(&args.resource, &resource_name, &written));
    };
    if resource.is_public() {
        return Err(syn::Error::new(
            args.resource.span(),
            format!(
                "`{resource_name}` is a public resource and has no permissions; \
                 remove `#[requires]` to serve this route without credentials"
            ),
        ));
    }

    let of_resource: Vec<Permission> = resource.permissions().collect();
    let closest = closest(
        &action_name,
        of_resource.iter().map(|p| (p.action().as_str(), *p)),
    );
    let msg = match closest {
        Some(p) => format!("unknown permission `{written}`; did you mean `{p}`?"),
        None => {
            let mut msg = format!(
                "unknown action `{action_name}` for resource `{resource_name}`; expected one of: {}",
                expected_actions(resource)
            );
            let elsewhere: Vec<&str> = Permission::ALL
                .iter()
                .filter(|p| p.action().as_str() == action_name)
                .map(|p| p.as_str())
                .collect();
            if !elsewhere.is_empty() {
                msg.push_str(&format!(
                    " (`{action_name}` exists as: {})",
                    join_quoted(elsewhere.iter().copied())
                ));
            }
            msg
        }
    };
    Err(syn::Error::new(args.action.span(), msg))
}

fn unknown_resource(ident: &Ident, name: &str, written: &str) -> syn::Error {
    let resources = Resource::ALL
        .iter()
        .filter(|r| !r.is_public())
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let public = Resource::ALL.iter().filter(|r| !r.is_public());
    let msg = match closest(name, public.map(|r| (r.as_str(), *r))) {
        Some(r) => {
            let action = written.split_once(':').map_or("", |(_, a)| a);
            match Action::from_name(action).and_then(|a| Permission::from_parts(r, a)) {
                Some(p) => format!("unknown permission `{written}`; did you mean `{p}`?"),
                None => format!(
                    "unknown resource `{name}`; did you mean `{r}`? expected one of: {resources}"
                ),
            }
        }
        None => format!("unknown resource `{name}`; expected one of: {resources}"),
    };
    syn::Error::new(ident.span(), msg)
}

/// The actions of `resource`, comma-separated, for error messages.
pub(crate) fn expected_actions(resource: Resource) -> String {
    resource
        .permissions()
        .map(|p| p.action().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the item: an `async fn`, carrying `#[requires]` once.
pub(crate) fn handler(item: &ItemFn) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    if item.sig.asyncness.is_none() {
        push(syn::Error::new(
            item.sig.fn_token.span,
            format!(
                "`#[requires]` guards axum handlers, which are async: write `async fn {}`",
                item.sig.ident
            ),
        ));
    }
    for attr in item.attrs.iter().filter(|a| attr::is_requires(a)) {
        push(syn::Error::new_spanned(
            attr,
            "`#[requires]` is applied twice: a handler requires exactly one permission; check \
             any further one in the handler with `tasker_auth::require_permission`",
        ));
    }
    errors.map_or(Ok(()), Err)
}

/// Refuses `#[utoipa::path]` written above `#[requires]`: it has expanded already, so the
/// permission would be missing from the OpenAPI document without a word.
pub(crate) fn utoipa_order(permission: Option<Permission>) -> syn::Result<()> {
    if !proc_macro::is_available() {
        return Ok(());
    }
    let call_site = proc_macro::Span::call_site();
    let Some(file) = call_site.local_file() else {
        return Ok(());
    };
    let above = crate::source::attributes_above(&file, call_site.line(), call_site.column());
    if !above.iter().any(|a| crate::source::is_utoipa_path(a)) {
        return Ok(());
    }
    let written = permission.map_or("resource:action", Permission::as_str);
    Err(syn::Error::new(
        Span::call_site(),
        format!(
            "`#[utoipa::path]` must come below `#[requires]`: move `#[requires({written})]` \
             above `#[utoipa::path(...)]` so that the operation documents its permission, \
             security requirements and 401/403 responses"
        ),
    ))
}

/// The candidate nearest to `written` if it is a plausible typo of it.
fn closest<T: Copy>(
    written: &str,
    candidates: impl Iterator<Item = (&'static str, T)>,
) -> Option<T> {
    let limit = (written.len() / 3).clamp(1, 3);
    candidates
        .map(|(name, value)| (distance(written, name), value))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, value)| value)
}

/// Levenshtein distance over bytes (the vocabulary is ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

fn join_quoted<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("creat", "create"), 1);
        assert_eq!(distance("tasks", "tasks"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    fn check(tokens: proc_macro2::TokenStream) -> Result<Permission, String> {
        let args: Args = syn::parse2(tokens).map_err(|e| e.to_string())?;
        permission(&args)
            .map(|c| c.permission)
            .map_err(|e| e.to_string())
    }

    fn parse_name(name: &str) -> Result<Permission, String> {
        check(name.parse().expect("tokens"))
    }

    #[test]
    fn every_permission_is_accepted_and_every_near_miss_suggests_it() {
        for &p in Permission::ALL {
            assert_eq!(parse_name(p.as_str()), Ok(p));
            let typo = &p.as_str()[..p.as_str().len() - 1];
            let err = parse_name(typo).unwrap_err();
            assert_eq!(
                err,
                format!("unknown permission `{typo}`; did you mean `{p}`?"),
                "{typo}"
            );
        }
    }

    /// The expansion names `Permission::<variant_name()>`: it must follow the wire name.
    #[test]
    fn variant_name_follows_the_wire_name() {
        for &p in Permission::ALL {
            let camel: String = p
                .as_str()
                .split([':', '_'])
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            assert_eq!(p.variant_name(), camel);
        }
    }

    #[test]
    fn unknown_action_lists_the_resource_actions() {
        let err = parse_name("dlq:delete").unwrap_err();
        assert_eq!(
            err,
            "unknown action `delete` for resource `dlq`; expected one of: read, update, stats"
        );
    }

    #[test]
    fn closest_rejects_far_candidates() {
        let names = [("create", 1), ("read", 2)];
        assert_eq!(closest("creat", names.into_iter()), Some(1));
        assert_eq!(closest("delete", names.into_iter()), None);
    }
}
