//! Small predicates several rules share.
