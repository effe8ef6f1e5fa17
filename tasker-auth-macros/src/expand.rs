//! Generation: the guarded handler, and the fallback emitted next to errors.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::FnArg;

use crate::attr::{self, Args, Item};
use crate::{openapi, valid};

/// Expands `#[requires(args)] item`.
pub(crate) fn requires(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let checked = syn::parse2::<Args>(args).and_then(|args| valid::permission(&args));
    let handler = Item::parse(item).and_then(|item| match item {
        Item::Fn(f) => valid::handler(&f).map(|()| f),
        Item::Other { kind, span } => Err(syn::Error::new(
            span,
            format!("`#[requires]` goes on an async fn handler, not on {kind}"),
        )),
    });

    let (checked, mut handler) = match (checked, handler) {
        (Ok(c), Ok(h)) => (c, h),
        (c, h) => {
            let errors = [c.err(), h.err()].into_iter().flatten();
            return Err(combine(errors));
        }
    };

    let span = checked.span;
    let variant = Ident::new(checked.permission.variant_name(), span);
    let guard: FnArg = syn::parse_quote_spanned! {span=>
        _: ::tasker_auth::__private::Require<{ ::tasker_auth::Permission::#variant as u8 }>
    };
    let at = usize::from(matches!(
        handler.sig.inputs.first(),
        Some(FnArg::Receiver(_))
    ));
    handler.sig.inputs.insert(at, guard);

    if !handler.attrs.iter().any(attr::is_utoipa_path) {
        return Ok(handler.into_token_stream());
    }
    // The rewritten `#[utoipa::path]` names `tasker_auth::ErrorBody` as a schema, which only the
    // `openapi` feature makes one; which of the two handlers survives is decided in `tasker_auth`,
    // where the feature is known, and without it the user's own attribute is kept beside one
    // error that names the feature, so that nothing else fails.
    let undocumented = handler.clone();
    for attr in handler.attrs.iter_mut().filter(|a| attr::is_utoipa_path(a)) {
        openapi::rewrite(attr, checked.permission, span)?;
    }
    Ok(quote::quote_spanned! {span=>
        ::tasker_auth::__private::if_openapi! {
            { #handler }
            { #undocumented }
        }
    })
}

/// What is emitted on error: the errors, and the user's item unchanged, so that code naming the
/// handler does not fail with unrelated errors.
pub(crate) fn fallback(item: TokenStream, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    // A sync fn would also fail axum's `Handler` bound wherever it is routed: make it async here
    // so the only errors are the ones above.
    let item = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(mut f) if f.sig.asyncness.is_none() => {
            f.sig.asyncness = Some(syn::Token![async](f.sig.fn_token.span));
            f.into_token_stream()
        }
        _ => item,
    };
    quote! {
        #errors
        #item
    }
}

fn combine(errors: impl Iterator<Item = syn::Error>) -> syn::Error {
    errors
        .reduce(|mut all, e| {
            all.combine(e);
            all
        })
        .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid `#[requires]`"))
}
