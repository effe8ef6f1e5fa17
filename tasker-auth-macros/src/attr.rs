//! Parsing: the arguments of `#[requires(...)]` and the item it is attached to, with every token
//! and span kept so that validation can point at the exact mistake.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, ItemFn, Token};

/// `resource:action`, as the user wrote it. The action may be missing (`tasks` or `tasks:`):
/// which actions to offer is a question for validation, which knows the vocabulary.
pub(crate) struct Args {
    pub(crate) resource: Ident,
    pub(crate) colon: Option<Token![:]>,
    pub(crate) action: Option<Ident>,
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
            return Err(rust_path(&resource, input));
        }
        if input.is_empty() {
            return Ok(Args {
                resource,
                colon: None,
                action: None,
            });
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
            return Ok(Args {
                resource,
                colon: Some(colon),
                action: None,
            });
        }
        let action = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected an action after `{resource}:`, as in `tasks:create`"),
            )
        })?;
        if input.peek(Token![-]) {
            return Err(kebab_case(&resource, &action, input));
        }
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
        Ok(Args {
            resource,
            colon: Some(colon),
            action: Some(action),
        })
    }
}

/// `tasks::read` (one colon too many) or `Permission::TasksRead` (the Rust name): either way, the
/// permission's name is what `#[requires]` wants, and the vocabulary tells which one was meant.
fn rust_path(first: &Ident, input: ParseStream<'_>) -> syn::Error {
    let mut path = quote::quote!(#first);
    let mut written = first.to_string();
    let mut segments = 1;
    while input.peek(Token![::]) && input.peek3(Ident::peek_any) {
        let (Ok(colons), Ok(segment)) = (input.parse::<Token![::]>(), input.call(Ident::parse_any))
        else {
            break;
        };
        written.push_str(&format!("::{segment}"));
        path.extend(quote::quote!(#colons #segment));
        segments += 1;
    }
    let suggestion = tasker_permissions::suggest::permission(&written);
    let lowercase = written.chars().all(|c| !c.is_ascii_uppercase());
    match suggestion {
        Some(p) if segments == 2 && lowercase => syn::Error::new_spanned(
            path,
            format!("write one colon between resource and action: `#[requires({p})]`"),
        ),
        Some(p) => syn::Error::new_spanned(
            path,
            format!(
                "`#[requires]` takes the permission's name, not its Rust path: \
                 write `#[requires({p})]`"
            ),
        ),
        None => syn::Error::new_spanned(
            path,
            format!(
                "write the permission as `resource:action` with one colon, as in \
                 `#[requires({first}:<action>)]`"
            ),
        ),
    }
}

/// `tasks:context-read`: permission names use underscores, and the dash would otherwise read as
/// a stray token after `tasks:context`.
fn kebab_case(resource: &Ident, action: &Ident, input: ParseStream<'_>) -> syn::Error {
    let mut words = quote::quote!(#action);
    let mut written = action.to_string();
    while input.peek(Token![-]) && input.peek2(Ident::peek_any) {
        let (Ok(dash), Ok(word)) = (input.parse::<Token![-]>(), input.call(Ident::parse_any))
        else {
            break;
        };
        written.push_str(&format!("_{word}"));
        words.extend(quote::quote!(#dash #word));
    }
    let fix = tasker_permissions::suggest::permission(&format!("{resource}:{written}"))
        .map_or_else(|| format!("{resource}:{written}"), |p| p.to_string());
    syn::Error::new_spanned(
        words,
        format!("permission names use underscores, not dashes: write `#[requires({fix})]`"),
    )
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
