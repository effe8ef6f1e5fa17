//! `#[grpc_service(package = "...")]` on a tonic service `impl` block: every method declares
//! `#[requires(resource:action)]` (validated exactly as on REST handlers) or `#[public]`, and the
//! block gets a `tasker_auth::grpc::GrpcMethods` implementation listing them.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, ImplItem, ItemImpl, LitStr, Token};

use crate::attr::{self, Args};
use crate::valid;

/// `package = "tasker.v1"`.
struct ServiceArgs {
    package: LitStr,
}

impl Parse for ServiceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        const USAGE: &str = "write `#[grpc_service(package = \"tasker.v1\")]` with the `.proto` \
                             file's package";
        if input.is_empty() {
            return Err(syn::Error::new(Span::call_site(), USAGE));
        }
        let key: Ident = input.parse()?;
        if key != "package" {
            return Err(syn::Error::new(
                key.span(),
                format!("unknown argument: {USAGE}"),
            ));
        }
        input.parse::<Token![=]>()?;
        let package: LitStr = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), USAGE))?;
        let valid = !package.value().is_empty()
            && package.value().split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !valid {
            return Err(syn::Error::new(
                package.span(),
                format!(
                    "`{}` is not a protobuf package name: {USAGE}",
                    package.value()
                ),
            ));
        }
        if !input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                format!("unexpected tokens: {USAGE}"),
            ));
        }
        Ok(ServiceArgs { package })
    }
}

/// What a method declares.
enum Access {
    Requires(tasker_permissions::Permission, Span),
    Public(Span),
}

/// Expands `#[grpc_service(args)] item`: always the `impl` block with the markers removed (so an
/// error does not cascade into "unknown attribute" ones), the errors, and the method table.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors: Vec<syn::Error> = Vec::new();
    let args = syn::parse2::<ServiceArgs>(args)
        .map_err(|e| errors.push(e))
        .ok();
    let mut block = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(block) => block,
        Err(_) => {
            let span = syn::parse2::<syn::Item>(item.clone())
                .map_or_else(|_| Span::call_site(), |i| i.span());
            let error = syn::Error::new(
                span,
                "`#[grpc_service]` goes on the `impl` block of a tonic service trait, \
                 e.g. `impl TaskService for Tasks { .. }`",
            )
            .to_compile_error();
            return quote! { #error #item };
        }
    };
    if block.trait_.is_none() {
        // The markers go too: left in place, each would add a "cannot find attribute" error
        // that hides the one that matters.
        for impl_item in &mut block.items {
            if let ImplItem::Fn(method) = impl_item {
                method
                    .attrs
                    .retain(|attr| !attr::is_requires(attr) && !is_public(attr));
            }
        }
    }
    let Some((_, trait_path, _)) = &block.trait_ else {
        let error = syn::Error::new(
            block.impl_token.span,
            "`#[grpc_service]` goes on the `impl` block of a tonic service trait \
             (`impl TaskService for Tasks`), not on an inherent `impl`",
        )
        .to_compile_error();
        return quote! { #error #block };
    };
    let service_ident = trait_path
        .segments
        .last()
        .map(|s| s.ident.clone())
        .unwrap_or_else(|| Ident::new("Unknown", Span::call_site()));

    let mut methods = Vec::new();
    for impl_item in &mut block.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        match access(&mut method.attrs, &method.sig.ident) {
            Ok(access) => methods.push((rpc_name(&method.sig.ident), access)),
            Err(e) => errors.push(e),
        }
    }

    let errors = errors.into_iter().map(|e| e.to_compile_error());
    let table = args.map(|args| {
        let service = format!("{}.{}", args.package.value(), unraw(&service_ident));
        let entries = methods.iter().map(|(name, access)| match access {
            Access::Requires(permission, span) => {
                let variant = Ident::new(permission.variant_name(), *span);
                quote_spanned! {*span=>
                    ::tasker_auth::grpc::GrpcMethod {
                        name: #name,
                        access: ::tasker_auth::grpc::GrpcAccess::Requires(
                            ::tasker_auth::Permission::#variant,
                        ),
                    }
                }
            }
            Access::Public(span) => quote_spanned! {*span=>
                ::tasker_auth::grpc::GrpcMethod {
                    name: #name,
                    access: ::tasker_auth::grpc::GrpcAccess::Public,
                }
            },
        });
        let self_ty = &block.self_ty;
        let (impl_generics, _, where_clause) = block.generics.split_for_impl();
        quote! {
            impl #impl_generics ::tasker_auth::grpc::GrpcMethods for #self_ty #where_clause {
                const SERVICE: &'static str = #service;
                const METHODS: &'static [::tasker_auth::grpc::GrpcMethod] = &[#(#entries),*];
            }
        }
    });
    let block = block.into_token_stream();
    quote! {
        #(#errors)*
        #block
        #table
    }
}

/// Takes the markers off `attrs` and returns what they declare.
fn access(attrs: &mut Vec<Attribute>, name: &Ident) -> syn::Result<Access> {
    let mut found: Option<Access> = None;
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let this = if attr::is_requires(&attr) {
            let list = match &attr.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            // The same parsing and vocabulary check as `#[requires]` on an axum handler.
            match syn::parse2::<Args>(list).and_then(|args| valid::permission(&args)) {
                Ok(checked) => Access::Requires(checked.permission, checked.span),
                Err(e) => {
                    push(e);
                    continue;
                }
            }
        } else if is_public(&attr) {
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                push(syn::Error::new_spanned(
                    &attr,
                    "write `#[public]`, without arguments",
                ));
                continue;
            }
            Access::Public(attr.span())
        } else {
            kept.push(attr);
            continue;
        };
        if found.is_some() {
            push(syn::Error::new_spanned(
                &attr,
                format!(
                    "gRPC method `{name}` declares its access twice: keep exactly one \
                     `#[requires(resource:action)]` or `#[public]`"
                ),
            ));
        } else {
            found = Some(this);
        }
    }
    *attrs = kept;
    if let Some(e) = errors {
        return Err(e);
    }
    found.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            format!(
                "gRPC method `{name}` declares no permission: add `#[requires(resource:action)]` \
                 above it (e.g. `#[requires(tasks:read)]`), or `#[public]` to serve it without \
                 credentials"
            ),
        )
    })
}

/// Whether `attr` is the `#[public]` marker (plain or by path).
fn is_public(attr: &Attribute) -> bool {
    let path = attr.path();
    match path.segments.len() {
        1 => path.is_ident("public"),
        2 => path.segments[0].ident == "tasker_auth" && path.segments[1].ident == "public",
        _ => false,
    }
}

/// The rpc name tonic-build turned into `ident`: `create_task` → `CreateTask`. tonic-build
/// snake-cases rpc names, so this is exact for names in UpperCamelCase without acronyms in
/// capitals (`GetDlqStats`, not `GetDLQStats`), which is the protobuf style.
fn rpc_name(ident: &Ident) -> String {
    unraw(ident)
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_name_is_upper_camel_case() {
        let name = |s: &str| rpc_name(&Ident::new(s, Span::call_site()));
        assert_eq!(name("create_task"), "CreateTask");
        assert_eq!(name("get_dlq_entries_for_task"), "GetDlqEntriesForTask");
        assert_eq!(name("list_templates"), "ListTemplates");
        assert_eq!(rpc_name(&Ident::new_raw("type", Span::call_site())), "Type");
    }
}
