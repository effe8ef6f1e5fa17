//! `#[requires(resource:action)]`: see `tasker_auth` for the user documentation.
#![allow(missing_docs)]

use proc_macro::TokenStream;

/// Placeholder until the real macro lands: passes the item through unchanged.
#[proc_macro_attribute]
pub fn requires(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
