//! "Did you mean ...?" for misspelt permissions (feature `suggest`), shared by the `#[requires]`
//! macro, `tasker-ctl` and the client so that one typo gets the same answer everywhere.
//!
//! # Example
//!
//! ```
//! use tasker_permissions::{Permission, suggest};
//!
//! assert_eq!(suggest::permission("tasks:raed"), Some(Permission::TasksRead));
//! assert_eq!(suggest::permission("taks:lsit"), Some(Permission::TasksList));
//! assert_eq!(suggest::permission("tasks:context-read"), Some(Permission::TasksContextRead));
//! assert_eq!(suggest::permission("Permission::TasksRead"), Some(Permission::TasksRead));
//! assert_eq!(suggest::permission("users:delete"), None);
//! ```

use std::string::String;

use crate::{Permission, Resource};

/// The edit distance behind every suggestion: optimal string alignment, in which a swap of two
/// neighbouring letters (`raed` for `read`) is one edit, as a substitution or an insertion is.
pub fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// The candidate nearest to `written`, if it is a plausible typo of it: at most a third of
/// `written`'s length away (at least one edit, at most three). Ties go to the first candidate.
pub fn closest<'a, T>(
    written: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
) -> Option<T> {
    // Beyond a third of the word, the "typo" shares too little with the candidate to be one.
    let limit = (written.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|(name, value)| (distance(written, name), value))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, value)| value)
}

/// The permission `written` most likely means, or `None` when nothing is close.
///
/// Besides typos in the resource, the action or both (`taks:raed`), it recognises the Rust name
/// of a permission (`Permission::TasksRead`, `TasksRead`) and spellings that differ only in case,
/// dashes for underscores or a doubled colon (`Tasks:Context-Read`, `tasks::read`).
pub fn permission(written: &str) -> Option<Permission> {
    let written = written.trim();
    let last_segment = written.rsplit("::").next().unwrap_or(written);
    if !last_segment.contains(':') {
        let variants = Permission::ALL.iter().map(|p| (p.variant_name(), *p));
        if let Some(p) = closest(last_segment, variants) {
            return Some(p);
        }
    }
    let normalized: String = written
        .replace("::", ":")
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let (resource, action) = normalized.split_once(':')?;
    let resource = Resource::from_name(resource).or_else(|| {
        let guarded = Resource::ALL.iter().filter(|r| !r.is_public());
        closest(resource, guarded.map(|r| (r.as_str(), *r)))
    })?;
    closest(
        action,
        resource.permissions().map(|p| (p.action().as_str(), p)),
    )
}

/// What an unknown grant was most likely meant to be: a permission (see [`permission`]) or a
/// resource wildcard (`dlq:*x` means `dlq:*`). A bare `*` gets no suggestion: it is no typo but
/// a grant of nothing, which callers explain in their own words.
pub fn grant(written: &str) -> Option<String> {
    let written = written.trim();
    if written == "*" {
        return None;
    }
    match written.split_once(':') {
        Some((resource, action)) if action.contains('*') => {
            let resource = resource.to_ascii_lowercase();
            let resource = Resource::from_name(&resource).or_else(|| {
                let guarded = Resource::ALL.iter().filter(|r| !r.is_public());
                closest(&resource, guarded.map(|r| (r.as_str(), *r)))
            })?;
            (!resource.is_public()).then(|| std::format!("{resource}:*"))
        }
        _ => permission(written).map(|p| std::string::ToString::to_string(&p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(distance("raed", "read"), 1);
        assert_eq!(distance("lsit", "list"), 1);
        assert_eq!(distance("creat", "create"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_rejects_far_candidates() {
        let names = [("create", 1), ("read", 2)];
        assert_eq!(closest("creat", names), Some(1));
        assert_eq!(closest("delete", names), None);
        assert_eq!(closest("", names), None);
    }

    #[test]
    fn typos_in_either_part_or_both_are_suggested() {
        assert_eq!(permission("tasks:raed"), Some(Permission::TasksRead));
        assert_eq!(permission("tasks:lsit"), Some(Permission::TasksList));
        assert_eq!(permission("taks:raed"), Some(Permission::TasksRead));
        assert_eq!(permission("dlq:stat"), Some(Permission::DlqStats));
        assert_eq!(
            permission("system:config_raed"),
            Some(Permission::SystemConfigRead)
        );
    }

    #[test]
    fn other_spellings_are_suggested() {
        assert_eq!(
            permission("Permission::TasksRead"),
            Some(Permission::TasksRead)
        );
        assert_eq!(
            permission("tasker_auth::Permission::WorkerTemplatesRead"),
            Some(Permission::WorkerTemplatesRead)
        );
        assert_eq!(permission("TaskRead"), Some(Permission::TasksRead));
        assert_eq!(
            permission("tasks:context-read"),
            Some(Permission::TasksContextRead)
        );
        assert_eq!(permission("TASKS:CREATE"), Some(Permission::TasksCreate));
        assert_eq!(permission("tasks::read"), Some(Permission::TasksRead));
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        assert_eq!(permission("users:delete"), None);
        assert_eq!(permission("tasks:delete"), None);
        assert_eq!(permission("health:read"), None);
        assert_eq!(permission("completely:wrong"), None);
        assert_eq!(permission("tasks"), None);
        assert_eq!(permission(""), None);
    }

    #[test]
    fn grants_suggest_permissions_and_wildcards() {
        assert_eq!(grant("tasks:creat").as_deref(), Some("tasks:create"));
        assert_eq!(grant("dlq:*x").as_deref(), Some("dlq:*"));
        assert_eq!(grant("taks:*").as_deref(), Some("tasks:*"));
        assert_eq!(grant("health:*"), None);
        assert_eq!(grant("*"), None);
        assert_eq!(grant("completely:wrong"), None);
    }

    #[test]
    fn every_permission_suggests_itself_and_its_near_misses() {
        for &p in Permission::ALL {
            assert_eq!(permission(p.as_str()), Some(p));
            let name = p.as_str();
            assert_eq!(permission(&name[..name.len() - 1]), Some(p), "{name}");
        }
    }
}
