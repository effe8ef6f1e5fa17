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
    let order = valid::utoipa_order(checked.as_ref().ok().map(|c| c.permission));

    let (checked, mut handler) = match (checked, handler, order) {
        (Ok(c), Ok(h), Ok(())) => (c, h),
        (c, h, o) => {
            let errors = [c.err(), h.err(), o.err()].into_iter().flatten();
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

    let mut documented = false;
    for attr in handler.attrs.iter_mut().filter(|a| attr::is_utoipa_path(a)) {
        openapi::rewrite(attr, checked.permission, span)?;
        documented = true;
    }
    if documented {
        // The rewritten `#[utoipa::path]` names `tasker_auth::ErrorBody` as a schema, which
        // exists only with the `openapi` feature: say so rather than fail on a missing trait.
        let check: syn::Stmt = syn::parse_quote_spanned! {span=>
            ::tasker_auth::__private::openapi_feature_required!();
        };
        handler.block.stmts.insert(0, check);
    }
    Ok(handler.into_token_stream())
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
