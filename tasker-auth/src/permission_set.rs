//! Sets of permissions: a bitset over [`Permission`], with the wildcard rules of the vocabulary.

use std::fmt;
use std::str::FromStr;

use tasker_permissions::{Permission, Resource};

/// A set of [`Permission`]s: one bit per permission, so membership checks are a mask and a
/// compare, `Copy`, and never allocate.
///
/// # Example
///
/// ```
/// use tasker_auth::{Permission, PermissionSet};
///
/// let granted = PermissionSet::parse_grants(["tasks:*", "dlq:read"]);
/// assert!(granted.unknown.is_empty());
/// assert!(granted.permissions.contains(Permission::TasksCancel));
/// assert!(granted.permissions.contains(Permission::DlqRead));
/// assert!(!granted.permissions.contains(Permission::DlqUpdate));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u32);

impl PermissionSet {
    /// The empty set.
    pub const EMPTY: PermissionSet = PermissionSet(0);
    /// Every permission of the vocabulary.
    pub const ALL: PermissionSet = PermissionSet((1 << 17) - 1);

    /// The empty set.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// This set with `permission` added.
    #[must_use]
    pub const fn with(self, permission: Permission) -> Self {
        PermissionSet(self.0 | Self::bit(permission))
    }

    /// Every permission of `resource` (empty for public resources): what `resource:*` grants.
    pub fn of_resource(resource: Resource) -> Self {
        resource.permissions().collect()
    }

    /// Whether the set holds `permission`.
    #[inline]
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    /// Whether every permission of `other` is in this set.
    pub const fn contains_all(self, other: PermissionSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= Self::bit(permission);
    }

    /// Removes `permission`.
    pub fn remove(&mut self, permission: Permission) {
        self.0 &= !Self::bit(permission);
    }

    /// The union of both sets.
    #[must_use]
    pub const fn union(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of permissions in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The permissions in the set, in vocabulary order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    /// Reads the permission strings a credential carries, applying the wildcard rules:
    /// an exact name grants that permission, `resource:*` grants every permission of the resource,
    /// and anything else (bare `*`, `health:*`, unknown or misspelt names) grants nothing and is
    /// reported in [`ParsedGrants::unknown`], so that `strict_validation` can refuse the credential.
    ///
    /// Allocates only when there are unknown strings.
    pub fn parse_grants<'a, I>(grants: I) -> ParsedGrants
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut parsed = ParsedGrants::default();
        for grant in grants {
            match parse_grant(grant) {
                Some(set) => parsed.permissions = parsed.permissions.union(set),
                None => parsed.unknown.push(grant.to_owned()),
            }
        }
        parsed
    }

    const fn bit(permission: Permission) -> u32 {
        1 << permission.index()
    }
}

/// The scope values OpenID Connect Core defines (`openid`, and those of §5.4 and §11): an IdP
/// such as Keycloak or Okta puts them in the `scope`/`scp` claim of every access token next to
/// the API's own scopes. They are not permissions: with `permissions_claim = "scope"` or `"scp"`
/// they are skipped, neither granting anything nor counting as unknown under
/// `strict_validation`.
pub(crate) const OIDC_SCOPE_VALUES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// Whether `value` is one of [`OIDC_SCOPE_VALUES`] (exactly: scope values are case-sensitive).
#[inline]
pub(crate) fn is_oidc_scope_value(value: &str) -> bool {
    OIDC_SCOPE_VALUES.contains(&value)
}

/// What one granted string stands for, or `None` when it grants nothing.
fn parse_grant(grant: &str) -> Option<PermissionSet> {
    if let Some(p) = Permission::from_name(grant) {
        return Some(PermissionSet::EMPTY.with(p));
    }
    let resource = Resource::from_name(grant.strip_suffix(":*")?)?;
    let set = PermissionSet::of_resource(resource);
    (!set.is_empty()).then_some(set)
}

/// The outcome of [`PermissionSet::parse_grants`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedGrants {
    /// What the known strings grant.
    pub permissions: PermissionSet,
    /// The strings that grant nothing (unknown names, bare `*`, wildcards of public resources).
    pub unknown: Vec<String>,
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<T: IntoIterator<Item = Permission>>(iter: T) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::with)
    }
}

impl Extend<Permission> for PermissionSet {
    fn extend<T: IntoIterator<Item = Permission>>(&mut self, iter: T) {
        for p in iter {
            self.insert(p);
        }
    }
}

impl From<Permission> for PermissionSet {
    fn from(p: Permission) -> Self {
        Self::EMPTY.with(p)
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::as_str))
            .finish()
    }
}

impl serde::Serialize for PermissionSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Permission::as_str))
    }
}

macro_rules! roles {
    ($( $variant:ident => $name:literal, [$($grant:literal),* $(,)?], $doc:literal; )*) => {
        /// The role presets of the vocabulary: named bundles of grants, used by
        /// `tasker-ctl auth generate-token --role` and in the documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Role {
            $(
                #[doc = $doc]
                $variant,
            )*
        }

        impl Role {
            /// Every role preset.
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];

            /// The role's name, e.g. `"read-only"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Role::$variant => $name,)* }
            }

            /// The grants the role puts in a credential, as written (wildcards kept).
            pub const fn grants(self) -> &'static [&'static str] {
                match self { $(Role::$variant => &[$($grant),*],)* }
            }
        }
    };
}

roles! {
    ReadOnly => "read-only",
        ["tasks:read", "tasks:list", "steps:read", "dlq:read", "dlq:stats"],
        "`read-only`: read tasks, steps and the DLQ.";
    TaskSubmitter => "task-submitter",
        ["tasks:create", "tasks:read", "tasks:list"],
        "`task-submitter`: submit tasks and follow them.";
    OpsAdmin => "ops-admin",
        ["tasks:*", "steps:*", "dlq:*", "system:*"],
        "`ops-admin`: everything on the orchestration API.";
    WorkerService => "worker-service",
        ["worker:config_read", "worker:templates_read"],
        "`worker-service`: what a worker needs of the worker API.";
    FullAccess => "full-access",
        ["tasks:*", "steps:*", "dlq:*", "templates:*", "system:*", "worker:*"],
        "`full-access`: every resource wildcard.";
}

impl Role {
    /// The permissions the role grants.
    pub fn permissions(self) -> PermissionSet {
        PermissionSet::parse_grants(self.grants().iter().copied()).permissions
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown role name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}`; expected one of: read-only, task-submitter, ops-admin, worker-service, full-access"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> PermissionSet {
        names
            .iter()
            .map(|n| n.parse::<Permission>().unwrap())
            .collect()
    }

    /// For each of the 17 permissions: granted exactly, through its resource wildcard, and not
    /// through any other resource's wildcard, bare `*` or a near miss.
    #[test]
    fn wildcard_rules_hold_for_every_permission() {
        for &p in Permission::ALL {
            let resource = p.resource().as_str();
            let other = if resource == "tasks" {
                "steps"
            } else {
                "tasks"
            };
            // (grant, grants this permission, is a known grant)
            let cases: [(String, bool, bool); 7] = [
                (p.as_str().to_owned(), true, true),
                (format!("{resource}:*"), true, true),
                ("*".to_owned(), false, false),
                (format!("{other}:*"), false, true),
                (p.as_str().to_uppercase(), false, false),
                (format!("{resource}:"), false, false),
                (format!("{} ", p.as_str()), false, false),
            ];
            for (grant, grants, known) in cases {
                let parsed = PermissionSet::parse_grants([grant.as_str()]);
                assert_eq!(parsed.permissions.contains(p), grants, "{grant} for {p}");
                assert_eq!(parsed.unknown.is_empty(), known, "{grant}");
            }
        }
    }

    #[test]
    fn bare_star_and_unknown_grant_nothing_and_are_reported() {
        let parsed = PermissionSet::parse_grants(["*", "tasks:creat", "health:*", "tasks:read"]);
        assert_eq!(parsed.permissions, set(&["tasks:read"]));
        assert_eq!(parsed.unknown, ["*", "tasks:creat", "health:*"]);
    }

    #[test]
    fn resource_wildcard_grants_only_its_resource() {
        let parsed = PermissionSet::parse_grants(["dlq:*"]);
        assert_eq!(
            parsed.permissions,
            set(&["dlq:read", "dlq:update", "dlq:stats"])
        );
    }

    #[test]
    fn set_operations_behave() {
        let mut s = PermissionSet::new();
        assert!(s.is_empty());
        s.insert(Permission::TasksCreate);
        s.insert(Permission::WorkerTemplatesRead);
        assert_eq!(s.len(), 2);
        assert!(PermissionSet::ALL.contains_all(s));
        s.remove(Permission::TasksCreate);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [Permission::WorkerTemplatesRead]
        );
        assert_eq!(PermissionSet::ALL.len(), 17);
        assert_eq!(format!("{:?}", s), r#"{"worker:templates_read"}"#);
    }

    #[test]
    fn role_presets_match_the_vocabulary() {
        assert_eq!(
            Role::ReadOnly.permissions(),
            set(&[
                "tasks:read",
                "tasks:list",
                "steps:read",
                "dlq:read",
                "dlq:stats"
            ])
        );
        assert_eq!(Role::FullAccess.permissions(), PermissionSet::ALL);
        assert!(
            !Role::OpsAdmin
                .permissions()
                .contains(Permission::TemplatesRead)
        );
        assert!(
            Role::OpsAdmin
                .permissions()
                .contains(Permission::SystemConfigRead)
        );
        for &r in Role::ALL {
            assert!(
                PermissionSet::parse_grants(r.grants().iter().copied())
                    .unknown
                    .is_empty()
            );
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
