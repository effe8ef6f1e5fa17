//! Validation: the parsed arguments against the permission vocabulary, and the item against what
//! an axum handler guarded by `#[requires]` must be.

use proc_macro2::Span;
use syn::{Ident, ItemFn};
use tasker_permissions::{Permission, Resource, suggest};

use crate::attr::{self, Args};

/// A validated permission, with the span of the user's tokens to hang generated code on.
pub(crate) struct Checked {
    pub(crate) permission: Permission,
    pub(crate) span: Span,
}

/// Checks `resource:action` against the vocabulary.
pub(crate) fn permission(args: &Args) -> syn::Result<Checked> {
    let resource_name = unraw(&args.resource);
    let Some(action) = &args.action else {
        return Err(missing_action(args, &resource_name));
    };
    let action_name = unraw(action);
    let written = format!("{resource_name}:{action_name}");

    if let Some(permission) = Permission::from_name(&written) {
        return Ok(Checked {
            permission,
            span: action.span(),
        });
    }

    let Some(resource) = Resource::from_name(&resource_name) else {
        return Err(unknown_resource(args, &resource_name, &written));
    };
    if resource.is_public() {
        return Err(public_resource(&args.resource, &resource_name));
    }

    let msg = match suggest::permission(&written) {
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
    Err(syn::Error::new(action.span(), msg))
}

/// `#[requires(tasks)]` or `#[requires(tasks:)]`; `#[requires(TasksRead)]` too, which names a
/// permission by its Rust name.
fn missing_action(args: &Args, resource_name: &str) -> syn::Error {
    let resource = Resource::from_name(resource_name);
    if resource.is_none()
        && let Some(p) = suggest::permission(resource_name)
    {
        return syn::Error::new(
            args.resource.span(),
            format!(
                "`#[requires]` takes the permission's name, not its Rust name: \
                 write `#[requires({p})]`"
            ),
        );
    }
    let expected = resource.filter(|r| !r.is_public()).map(expected_actions);
    match (&args.colon, expected) {
        (Some(colon), expected) => syn::Error::new(
            colon.span,
            match expected {
                Some(list) => {
                    format!("missing action after `{resource_name}:`; expected one of: {list}")
                }
                None => format!("missing action after `{resource_name}:`"),
            },
        ),
        (None, Some(list)) => syn::Error::new(
            args.resource.span(),
            format!(
                "missing action: write `#[requires({resource_name}:<action>)]` with one of: {list}"
            ),
        ),
        (None, None) => syn::Error::new(
            args.resource.span(),
            format!("missing action: write `#[requires({resource_name}:<action>)]`"),
        ),
    }
}

fn public_resource(ident: &Ident, name: &str) -> syn::Error {
    syn::Error::new(
        ident.span(),
        format!(
            "`{name}` is a public resource and has no permissions; \
             remove `#[requires]` to serve this route without credentials"
        ),
    )
}

/// An unknown resource; when the action makes the pair a likely typo of one permission
/// (`taks:raed`), both parts are reported together with the permission meant.
fn unknown_resource(args: &Args, name: &str, written: &str) -> syn::Error {
    if let Some(p) = suggest::permission(written) {
        let (resource, action) = (&args.resource, &args.action);
        return syn::Error::new_spanned(
            quote::quote!(#resource #action),
            format!("unknown permission `{written}`; did you mean `{p}`?"),
        );
    }
    let guarded = Resource::ALL.iter().filter(|r| !r.is_public());
    let resources = join_plain(guarded.clone().map(|r| r.as_str()));
    let msg = match suggest::closest(name, guarded.map(|r| (r.as_str(), *r))) {
        Some(r) => {
            format!("unknown resource `{name}`; did you mean `{r}`? expected one of: {resources}")
        }
        None => format!("unknown resource `{name}`; expected one of: {resources}"),
    };
    syn::Error::new(args.resource.span(), msg)
}

/// The actions of `resource`, comma-separated, for error messages.
fn expected_actions(resource: Resource) -> String {
    resource
        .permissions()
        .map(|p| p.action().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many arguments axum's `Handler` implementations go up to.
const MAX_AXUM_ARGUMENTS: usize = 16;

/// Checks the item: an `async fn`, carrying `#[requires]` once, with room for the guard among
/// its arguments.
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
    // axum implements `Handler` for up to 16 arguments, and the guard is one of them: past that,
    // the only error would be a `Handler` bound not satisfied where the handler is routed.
    let arguments: Vec<&syn::PatType> = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            syn::FnArg::Typed(arg) => Some(arg),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    if let Some(extra) = arguments.get(MAX_AXUM_ARGUMENTS - 1) {
        push(syn::Error::new_spanned(
            extra,
            format!(
                "too many arguments: axum handlers take at most {MAX_AXUM_ARGUMENTS} extractors and \
                 `#[requires]` adds one to check the permission, so a guarded handler takes at most \
                 {}; this one has {}: group some into a tuple, e.g. `(a, b): (A, B)`, \
                 which is one extractor",
                MAX_AXUM_ARGUMENTS - 1,
                arguments.len()
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

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

fn join_plain<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
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
    fn swapped_letters_and_both_parts_misspelt_are_suggested() {
        for (written, meant) in [
            ("tasks:raed", "tasks:read"),
            ("tasks:lsit", "tasks:list"),
            ("taks:raed", "tasks:read"),
        ] {
            assert_eq!(
                parse_name(written).unwrap_err(),
                format!("unknown permission `{written}`; did you mean `{meant}`?")
            );
        }
    }

    #[test]
    fn rust_names_and_dashes_get_the_wire_name() {
        let fix = "write `#[requires(tasks:read)]`";
        for written in [
            "Permission::TasksRead",
            "tasker_auth::Permission::TasksRead",
            "TasksRead",
        ] {
            let err = parse_name(written).unwrap_err();
            assert!(err.contains("not its Rust"), "{err}");
            assert!(err.ends_with(fix), "{err}");
        }
        assert_eq!(
            parse_name("tasks::read").unwrap_err(),
            "write one colon between resource and action: `#[requires(tasks:read)]`"
        );
        assert_eq!(
            parse_name("tasks:context-read").unwrap_err(),
            "permission names use underscores, not dashes: write `#[requires(tasks:context_read)]`"
        );
    }

    #[test]
    fn sixteen_arguments_leave_no_room_for_the_guard() {
        let arguments = (0..16).map(|i| quote::format_ident!("_a{i}"));
        let sixteen: syn::ItemFn = syn::parse_quote!(async fn f(#(#arguments: u8),*) {});
        let err = handler(&sixteen).unwrap_err().to_string();
        assert!(
            err.starts_with("too many arguments: axum handlers take at most 16"),
            "{err}"
        );
        assert!(err.contains("this one has 16"), "{err}");
        let arguments = (0..15).map(|i| quote::format_ident!("_a{i}"));
        let fifteen: syn::ItemFn = syn::parse_quote!(async fn f(#(#arguments: u8),*) {});
        assert!(handler(&fifteen).is_ok());
    }
}
