//! The reasoning quality score, in [0, 1], computed from the trace when a reasoning
//! completes (docs/agents.md#quality-score):
//!
//! `q = (0.3·tool_success + 0.2·plan_completion + 0.4·verified_claims + 0.1·artifacts) / W`
//!
//! - `tool_success`: the share of tool calls that returned a result;
//! - `plan_completion`: the share of the actions the specialists planned that ran and
//!   succeeded (a budget or a failure leaves the rest undone);
//! - `verified_claims`: the share of factual claims whose every cited location was
//!   verified against the files (a claim whose evidence failed counts against it even
//!   though it is left out of the answer);
//! - `artifacts`: the share of produced artifacts that were validated by running them.
//!
//! A term with no observations (no tool call, no claim, no artifact) is left out and `W`
//! is the sum of the weights of the terms present; with no term at all (an answer that
//! needed no tool, such as "what can you do?") there is no score, rather than a made-up 0.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quality {
    /// Absent when nothing was observed to score.
    pub score: Option<f64>,
    pub tool_success: Option<f64>,
    pub plan_completion: Option<f64>,
    /// Verified claims / factual claims.
    pub verified_claims: Option<f64>,
    pub claims: usize,
    pub artifact_validation: Option<f64>,
}

pub fn score(
    tool_success: Option<f64>,
    plan_completion: Option<f64>,
    claims: usize,
    claims_verified: usize,
    artifact_validation: Option<f64>,
) -> Quality {
    let verified_claims = (claims > 0).then(|| claims_verified as f64 / claims as f64);
    let terms = [
        (0.3, tool_success),
        (0.2, plan_completion),
        (0.4, verified_claims),
        (0.1, artifact_validation),
    ];
    let weight: f64 = terms
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(w, _)| w)
        .sum();
    let total: f64 = terms.iter().filter_map(|(w, v)| v.map(|v| w * v)).sum();
    let score = (weight > 0.0).then(|| ((total / weight) * 1000.0).round() / 1000.0);
    Quality {
        score,
        tool_success,
        plan_completion,
        verified_claims,
        claims,
        artifact_validation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_terms_renormalise() {
        assert_eq!(score(Some(1.0), Some(1.0), 4, 4, None).score, Some(1.0));
        assert_eq!(score(Some(1.0), Some(1.0), 4, 2, None).score, Some(0.778));
        assert_eq!(score(None, None, 0, 0, None).score, None);
        assert_eq!(score(Some(0.5), None, 0, 0, None).score, Some(0.5));
    }
}
