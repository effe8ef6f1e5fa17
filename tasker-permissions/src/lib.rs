//! The Tasker permission vocabulary, defined once and shared by `tasker-auth` (at run time) and
//! `tasker-auth-macros` (at compile time, to check `#[requires(resource:action)]`).
//!
//! Application code should use these items through `tasker_auth`, which re-exports them.
//!
//! # Example
//!
//! ```
//! use tasker_permissions::{Action, Permission, Resource};
//!
//! let p: Permission = "tasks:create".parse().unwrap();
//! assert_eq!(p, Permission::TasksCreate);
//! assert_eq!(p.as_str(), "tasks:create");
//! assert_eq!(Permission::from_parts(Resource::Tasks, Action::Create), Some(p));
//! assert_eq!(Permission::from_parts(Resource::Tasks, Action::Delete), None);
//! ```
#![no_std]

// The "did you mean" helper needs `strsim`, which needs std; the vocabulary itself does not.
#[cfg(feature = "suggest")]
extern crate std;

use core::fmt;
use core::str::FromStr;

/// Declares the vocabulary once: every list below (`ALL`, names, parts, parsing) is generated
/// from this table, so the enum, the strings and the resource/action mapping cannot drift apart.
macro_rules! vocabulary {
    ($( $variant:ident = $index:literal => $res:ident : $act:ident, $name:literal; )*) => {
        /// One of the seventeen Tasker permissions, written `resource:action`.
        ///
        /// The discriminant is the permission's bit index in a permission set; it is stable.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum Permission {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant = $index,
            )*
        }

        impl Permission {
            /// Every permission, in declaration order (the order of the documented vocabulary).
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The permission's wire name, e.g. `"tasks:create"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// The Rust name of the variant, e.g. `"TasksCreate"` (the `#[requires]` macro
            /// writes `Permission::TasksCreate` into the code it generates).
            pub const fn variant_name(self) -> &'static str {
                match self { $(Permission::$variant => stringify!($variant),)* }
            }

            /// The resource this permission belongs to.
            pub const fn resource(self) -> Resource {
                match self { $(Permission::$variant => Resource::$res,)* }
            }

            /// The action this permission allows on its resource.
            pub const fn action(self) -> Action {
                match self { $(Permission::$variant => Action::$act,)* }
            }

            /// The permission for a resource/action pair, or `None` when the pair has none
            /// (for example `Tasks` + `Delete`, or any action on a public resource).
            pub const fn from_parts(resource: Resource, action: Action) -> Option<Permission> {
                match (resource, action) {
                    $((Resource::$res, Action::$act) => Some(Permission::$variant),)*
                    _ => None,
                }
            }

            /// The permission whose [`index`](Permission::index) is `index`.
            pub const fn from_index(index: u8) -> Option<Permission> {
                match index {
                    $($index => Some(Permission::$variant),)*
                    _ => None,
                }
            }

            /// Parses an exact wire name (`"tasks:create"`); wildcards are not permissions.
            pub fn from_name(name: &str) -> Option<Permission> {
                match name {
                    $($name => Some(Permission::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

vocabulary! {
    TasksCreate = 0 => Tasks: Create, "tasks:create";
    TasksRead = 1 => Tasks: Read, "tasks:read";
    TasksList = 2 => Tasks: List, "tasks:list";
    TasksCancel = 3 => Tasks: Cancel, "tasks:cancel";
    TasksContextRead = 4 => Tasks: ContextRead, "tasks:context_read";
    StepsRead = 5 => Steps: Read, "steps:read";
    StepsResolve = 6 => Steps: Resolve, "steps:resolve";
    DlqRead = 7 => Dlq: Read, "dlq:read";
    DlqUpdate = 8 => Dlq: Update, "dlq:update";
    DlqStats = 9 => Dlq: Stats, "dlq:stats";
    TemplatesRead = 10 => Templates: Read, "templates:read";
    TemplatesValidate = 11 => Templates: Validate, "templates:validate";
    SystemConfigRead = 12 => System: ConfigRead, "system:config_read";
    SystemHandlersRead = 13 => System: HandlersRead, "system:handlers_read";
    SystemAnalyticsRead = 14 => System: AnalyticsRead, "system:analytics_read";
    WorkerConfigRead = 15 => Worker: ConfigRead, "worker:config_read";
    WorkerTemplatesRead = 16 => Worker: TemplatesRead, "worker:templates_read";
}

impl Permission {
    /// The permission's bit index (0..17), used by permission sets.
    pub const fn index(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a string that is not one of the seventeen permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownPermission;

impl fmt::Display for UnknownPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown permission")
    }
}

impl core::error::Error for UnknownPermission {}

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::from_name(s).ok_or(UnknownPermission)
    }
}

macro_rules! names {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident { $($variant:ident => $name:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $ty {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The lowercase name used in permission strings, e.g. `"tasks"` or `"context_read"`.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name,)* }
            }

            /// Parses the lowercase name.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// What a permission protects. `Health`, `Metrics` and `Docs` are public: they have no
    /// permissions, and no credential can grant one of them.
    pub enum Resource {
        Tasks => "tasks",
        Steps => "steps",
        Dlq => "dlq",
        Templates => "templates",
        System => "system",
        Worker => "worker",
        Health => "health",
        Metrics => "metrics",
        Docs => "docs",
    }
}

names! {
    /// What a permission allows on its resource. Not every action exists for every resource;
    /// see [`Permission::from_parts`].
    pub enum Action {
        Create => "create",
        Read => "read",
        List => "list",
        Update => "update",
        Delete => "delete",
        Cancel => "cancel",
        ContextRead => "context_read",
        Resolve => "resolve",
        Stats => "stats",
        Validate => "validate",
        ConfigRead => "config_read",
        AnalyticsRead => "analytics_read",
        HandlersRead => "handlers_read",
        TemplatesRead => "templates_read",
    }
}

impl Resource {
    /// The permissions of this resource (empty for public resources).
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| p.resource() == self)
    }

    /// Whether this resource is public (has no permissions).
    pub fn is_public(self) -> bool {
        self.permissions().next().is_none()
    }
}

#[cfg(feature = "suggest")]
pub mod suggest;

#[cfg(feature = "serde")]
mod serde_impls {
    use super::Permission;
    use core::fmt;

    impl serde::Serialize for Permission {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_str())
        }
    }

    impl<'de> serde::Deserialize<'de> for Permission {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl serde::de::Visitor<'_> for Visitor {
                type Value = Permission;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a Tasker permission such as \"tasks:create\"")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Permission, E> {
                    Permission::from_name(v)
                        .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
            d.deserialize_str(Visitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_has_seventeen_permissions_with_matching_parts() {
        assert_eq!(Permission::ALL.len(), 17);
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(p.index() as usize, i);
            assert_eq!(Permission::from_index(p.index()), Some(*p));
            assert_eq!(Permission::from_name(p.as_str()), Some(*p));
            let (r, a) = p.as_str().split_once(':').unwrap();
            assert_eq!(p.resource().as_str(), r);
            assert_eq!(p.action().as_str(), a);
            assert_eq!(Permission::from_parts(p.resource(), p.action()), Some(*p));
        }
    }

    #[test]
    fn pairs_without_permission_are_none() {
        assert_eq!(
            Permission::from_parts(Resource::Tasks, Action::Delete),
            None
        );
        assert_eq!(Permission::from_parts(Resource::Health, Action::Read), None);
        assert!(Resource::Health.is_public());
        assert!(!Resource::Dlq.is_public());
        assert_eq!(Permission::from_index(17), None);
    }

    #[test]
    fn parsing_is_exact() {
        assert!("Tasks:Create".parse::<Permission>().is_err());
        assert!("tasks:*".parse::<Permission>().is_err());
        assert!("*".parse::<Permission>().is_err());
        assert!(" tasks:create".parse::<Permission>().is_err());
    }
}
