//! One syscall's rules as libseccomp 2.5 merges them (src/db.c), so that
//! overlapping rules give the verdict libseccomp gives.
//!
//! - A rule without conditions decides the whole syscall: it replaces any
//!   conditional rules, and later rules for the syscall are dropped.
//! - Conditional rules form a tree, one level per condition in argument
//!   order, equal conditions shared. Siblings are ordered as libseccomp
//!   orders them: higher argument first, then EQ/NE/MASKED_EQ before LT/LE
//!   before GT/GE, then the larger value first (the smaller for LT/LE), then
//!   the order of adding. The filter walks the tree depth first, and the
//!   first rule whose conditions all hold decides; none: the default.
//! - A rule that extends an existing shorter one is dropped (the shorter one
//!   already decides); a shorter rule replaces the longer ones it covers if
//!   they have its action, and is a conflict otherwise, as is the same
//!   condition list with two actions.
//!
//! libseccomp 2.5.4's code generator can jump to a sibling with the wrong
//! word in its accumulator after NE, LT or LE nodes; we compile the tree's
//! meaning, not that bug (see the tests named after it).

use crate::action::Action;
use crate::profile::{Cond, Op};

/// A syscall's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall {
    /// One action whatever the arguments.
    Always(Action),
    /// The first rule, in tree order, whose conditions all hold.
    Tree(Vec<Node>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    cond: Cond,
    /// Set where a rule ends here (then there are no children).
    action: Option<Action>,
    children: Vec<Node>,
}

/// Two rules give one set of arguments two actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict;

/// libseccomp's sibling order key: the larger comes first.
fn rank(c: &Cond) -> (u8, u8, u64) {
    let (prio, datum) = match c.op {
        Op::Eq | Op::Ne | Op::MaskedEq => (3, c.value),
        Op::Lt | Op::Le => (2, !c.value),
        Op::Gt | Op::Ge => (1, c.value),
    };
    (c.index, prio, datum)
}

impl Syscall {
    /// The decision of a single rule.
    pub fn new(action: Action, conds: &[Cond]) -> Syscall {
        let mut s = Syscall::Tree(Vec::new());
        if conds.is_empty() {
            s = Syscall::Always(action);
        } else {
            s.add(action, conds).expect("an empty tree has no conflict");
        }
        s
    }

    /// Adds a rule whose conditions are in argument order, one per argument.
    pub fn add(&mut self, action: Action, conds: &[Cond]) -> Result<(), Conflict> {
        match self {
            // The first rule without conditions keeps deciding.
            Syscall::Always(_) => Ok(()),
            Syscall::Tree(_) if conds.is_empty() => {
                *self = Syscall::Always(action);
                Ok(())
            }
            Syscall::Tree(level) => add(level, action, conds),
        }
    }

    /// The rules in the order the filter tries them: (conditions, action).
    pub fn rules(&self) -> Vec<(Vec<Cond>, Action)> {
        let mut out = Vec::new();
        match self {
            Syscall::Always(a) => out.push((Vec::new(), *a)),
            Syscall::Tree(level) => flatten(level, &mut Vec::new(), &mut out),
        }
        out
    }
}

fn add(level: &mut Vec<Node>, action: Action, conds: &[Cond]) -> Result<(), Conflict> {
    let (first, rest) = conds.split_first().expect("callers pass a condition");
    if let Some(node) = level.iter_mut().find(|n| n.cond == *first) {
        return match (node.action, rest.is_empty()) {
            (Some(a), true) if a == action => Ok(()),
            (Some(_), true) => Err(Conflict),
            // The existing shorter rule already decides these arguments.
            (Some(_), false) => Ok(()),
            (None, true) => {
                if any_other_action(&node.children, action) {
                    return Err(Conflict);
                }
                node.children.clear();
                node.action = Some(action);
                Ok(())
            }
            (None, false) => add(&mut node.children, action, rest),
        };
    }
    let mut node = Node {
        cond: *first,
        action: None,
        children: Vec::new(),
    };
    if rest.is_empty() {
        node.action = Some(action);
    } else {
        add(&mut node.children, action, rest)?;
    }
    let at = level
        .iter()
        .position(|x| rank(&x.cond) < rank(first))
        .unwrap_or(level.len());
    level.insert(at, node);
    Ok(())
}

fn any_other_action(level: &[Node], action: Action) -> bool {
    level
        .iter()
        .any(|n| n.action.is_some_and(|a| a != action) || any_other_action(&n.children, action))
}

fn flatten(level: &[Node], path: &mut Vec<Cond>, out: &mut Vec<(Vec<Cond>, Action)>) {
    for n in level {
        path.push(n.cond);
        match n.action {
            Some(a) => out.push((path.clone(), a)),
            None => flatten(&n.children, path, out),
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: u8, op: Op, value: u64) -> Cond {
        Cond {
            index,
            op,
            value,
            mask: 0,
        }
    }
    const E1: Action = Action::Errno(1);
    const E2: Action = Action::Errno(2);
    const E3: Action = Action::Errno(3);

    #[test]
    fn a_rule_without_conditions_decides_the_syscall_in_either_order() {
        let mut s = Syscall::new(E1, &[c(0, Op::Eq, 1)]);
        s.add(E2, &[]).unwrap();
        assert_eq!(s, Syscall::Always(E2));
        s.add(E3, &[c(0, Op::Eq, 1)]).unwrap();
        s.add(E3, &[]).unwrap();
        assert_eq!(s, Syscall::Always(E2));
    }

    #[test]
    fn equality_comes_before_ranges_and_narrow_ranges_first() {
        let mut s = Syscall::new(E3, &[c(0, Op::Ge, 1)]);
        s.add(E2, &[c(0, Op::Eq, 2)]).unwrap();
        s.add(E1, &[c(0, Op::Eq, 1)]).unwrap();
        let order: Vec<Action> = s.rules().into_iter().map(|r| r.1).collect();
        assert_eq!(order, [E2, E1, E3]);
        let mut s = Syscall::new(E1, &[c(0, Op::Gt, 5)]);
        s.add(E2, &[c(0, Op::Gt, 10)]).unwrap();
        s.add(E3, &[c(0, Op::Lt, 10)]).unwrap();
        s.add(E3, &[c(0, Op::Lt, 5)]).unwrap();
        let order: Vec<u64> = s.rules().iter().map(|r| r.0[0].value).collect();
        assert_eq!(order, [5, 10, 10, 5], "LT ascending, then GT descending");
    }

    #[test]
    fn the_higher_argument_is_tried_first() {
        let mut s = Syscall::new(E1, &[c(0, Op::Eq, 1)]);
        s.add(E2, &[c(1, Op::Eq, 2)]).unwrap();
        assert_eq!(s.rules()[0].1, E2);
    }

    #[test]
    fn longer_and_shorter_rules_merge_as_libseccomp() {
        // A shorter rule first: the longer one is dropped.
        let mut s = Syscall::new(E1, &[c(0, Op::Eq, 1)]);
        s.add(E2, &[c(0, Op::Eq, 1), c(1, Op::Eq, 2)]).unwrap();
        assert_eq!(s.rules().len(), 1);
        // The longer first: a shorter one with another action conflicts...
        let mut s = Syscall::new(E2, &[c(0, Op::Eq, 1), c(1, Op::Eq, 2)]);
        assert_eq!(s.add(E1, &[c(0, Op::Eq, 1)]), Err(Conflict));
        // ...and with the same action replaces it.
        s.add(E2, &[c(0, Op::Eq, 1)]).unwrap();
        assert_eq!(s.rules(), [(vec![c(0, Op::Eq, 1)], E2)]);
        // The same conditions twice: one action only.
        assert_eq!(s.add(E3, &[c(0, Op::Eq, 1)]), Err(Conflict));
        assert_eq!(s.add(E2, &[c(0, Op::Eq, 1)]), Ok(()));
    }

    #[test]
    fn shared_prefixes_keep_their_children_ordered() {
        let mut s = Syscall::new(E1, &[c(0, Op::Eq, 1), c(1, Op::Eq, 2)]);
        s.add(E2, &[c(0, Op::Eq, 1), c(1, Op::Eq, 3)]).unwrap();
        let r = s.rules();
        assert_eq!((r[0].1, r[1].1), (E2, E1));
    }
}
