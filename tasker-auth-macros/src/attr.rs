//! Parsing: the arguments of `#[requires(...)]` and the item it is attached to, with every token
//! and span kept so that validation can point at the exact mistake.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, ItemFn, Token};

/// `resource:action`, as the user wrote it.
pub(crate) struct Args {
    pub(crate) resource: Ident,
    pub(crate) action: Ident,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`#[requires]` needs a permission: write `#[requires(resource:action)]`, \
                 e.g. `#[requires(tasks:create)]`",
            ));
        }
        if let Ok(lit) = input.fork().parse::<syn::LitStr>() {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "write the permission without quotes: `#[requires({})]`",
                    lit.value()
                ),
            ));
        }
        let resource = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a permission such as `tasks:create` in `#[requires(...)]`",
            )
        })?;
        if input.peek(Token![::]) {
            let colons: Token![::] = input.parse()?;
            return Err(syn::Error::new_spanned(
                colons,
                format!("write one colon between resource and action: `{resource}:<action>`"),
            ));
        }
        if input.is_empty() {
            return Err(syn::Error::new(
                resource.span(),
                match tasker_permissions::Resource::from_name(&resource.to_string()) {
                    Some(r) if !r.is_public() => format!(
                        "missing action: write `#[requires({resource}:<action>)]` with one of: {}",
                        crate::valid::expected_actions(r)
                    ),
                    _ => format!("missing action: write `#[requires({resource}:<action>)]`"),
                },
            ));
        }
        let colon = input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!(
                    "expected `:` between resource and action, as in `#[requires({resource}:<action>)]`"
                ),
            )
        })?;
        if input.peek(Token![*]) {
            let star: Token![*] = input.parse()?;
            return Err(syn::Error::new(
                star.span,
                format!(
                    "`#[requires]` takes one permission, not a wildcard: name the action, \
                     as in `#[requires({resource}:<action>)]`"
                ),
            ));
        }
        if input.is_empty() {
            let expected = match tasker_permissions::Resource::from_name(&resource.to_string()) {
                Some(r) if !r.is_public() => {
                    format!("; expected one of: {}", crate::valid::expected_actions(r))
                }
                _ => String::new(),
            };
            return Err(syn::Error::new(
                colon.span,
                format!("missing action after `{resource}:`{expected}"),
            ));
        }
        let action = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected an action after `{resource}:`, as in `tasks:create`"),
            )
        })?;
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            let first = rest.clone().into_iter().next();
            let span = first.as_ref().map_or(Span::call_site(), TokenTree::span);
            let msg = match first {
                Some(TokenTree::Punct(p)) if p.as_char() == ',' => format!(
                    "unexpected tokens after `{resource}:{action}`: `#[requires]` takes exactly one \
                     permission; check further permissions in the handler with \
                     `tasker_auth::require_permission`"
                ),
                _ => format!(
                    "unexpected tokens after `{resource}:{action}`: `#[requires]` takes exactly one \
                     permission, as in `#[requires(tasks:create)]`"
                ),
            };
            return Err(syn::Error::new(span, msg));
        }
        Ok(Args { resource, action })
    }
}

/// The item under `#[requires]`: an `async fn`, or something else to report.
pub(crate) enum Item {
    Fn(Box<ItemFn>),
    Other { kind: &'static str, span: Span },
}

impl Item {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        match syn::parse2::<syn::Item>(tokens.clone()) {
            Ok(syn::Item::Fn(f)) => Ok(Item::Fn(Box::new(f))),
            Ok(other) => Ok(Item::Other {
                kind: kind(&other),
                span: keyword_span(&other),
            }),
            // A method inside an `impl` block, with a receiver or a `self` type: still a fn.
            Err(e) => match syn::parse2::<syn::ImplItemFn>(tokens) {
                Ok(f) => Ok(Item::Fn(Box::new(ItemFn {
                    attrs: f.attrs,
                    vis: f.vis,
                    sig: f.sig,
                    block: Box::new(f.block),
                }))),
                Err(_) => Err(e),
            },
        }
    }
}

fn kind(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Const(_) => "a const",
        syn::Item::Static(_) => "a static",
        syn::Item::Impl(_) => "an impl block",
        syn::Item::Mod(_) => "a module",
        syn::Item::Trait(_) => "a trait",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Use(_) => "a use declaration",
        syn::Item::Union(_) => "a union",
        syn::Item::Macro(_) => "a macro invocation",
        _ => "this item",
    }
}

fn keyword_span(item: &syn::Item) -> Span {
    use syn::spanned::Spanned;
    match item {
        syn::Item::Struct(i) => i.struct_token.span,
        syn::Item::Enum(i) => i.enum_token.span,
        syn::Item::Const(i) => i.const_token.span,
        syn::Item::Static(i) => i.static_token.span,
        syn::Item::Impl(i) => i.impl_token.span,
        syn::Item::Mod(i) => i.mod_token.span,
        syn::Item::Trait(i) => i.trait_token.span,
        syn::Item::Type(i) => i.type_token.span,
        syn::Item::Use(i) => i.use_token.span,
        other => other.span(),
    }
}

/// Whether `attr` is another `#[requires(...)]` (plain or by path).
pub(crate) fn is_requires(attr: &Attribute) -> bool {
    let path = attr.path();
    match path.segments.len() {
        1 => path.is_ident("requires"),
        2 => path.segments[0].ident == "tasker_auth" && path.segments[1].ident == "requires",
        _ => false,
    }
}

/// Whether `attr` is utoipa's `#[utoipa::path(...)]`, or its `#[path(...)]` when imported.
pub(crate) fn is_utoipa_path(attr: &Attribute) -> bool {
    let path = attr.path();
    let list = matches!(attr.meta, syn::Meta::List(_));
    match path.segments.len() {
        1 => list && path.is_ident("path"),
        2 => path.segments[0].ident == "utoipa" && path.segments[1].ident == "path",
        _ => false,
    }
}
