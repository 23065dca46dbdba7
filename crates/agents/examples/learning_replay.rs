//! The learning engine's replay harness: feedback streams with known ground truth, fed
//! through the same fold, ranking and planner the services use, with before/after
//! numbers. Run by `bench/learning/replay.sh`; data in `bench/learning/`.
//!
//! - Findings: two users judge the top findings shown on real repositories
//!   (`judgements/*.json`, judged by hand); precision of the top 10 before/after, and
//!   dismissed findings shown again.
//! - Intents: for each family of `corrections.toml` the user corrects the `train`
//!   question only if the planner got it wrong; accuracy on the held-out paraphrases.
//! - Routing: ratings simulated from `routing.toml`'s best specialist; Thompson sampling
//!   learns on half the questions, and the learned routes are scored on the other half
//!   against the fixed rules.
//!
//! Usage: `learning_replay DATA_DIR [OUT_JSON]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use qa_agents::planner::{
    Blend, Route, RouteLearning, SentenceEncoder, Understanding, blend, choose_route, context_key,
    fixed_route, rated_arms, routing_context,
};
use qa_agents::{Intent, LearnedState, Planner};
use qa_learning::feedback::{Context, FeedbackKind, Target};
use qa_learning::replay::{JudgedRepository, replay_repository};
use qa_learning::routing::{Candidate, greedy, thompson};
use qa_learning::state::Event;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Corrections {
    family: Vec<Family>,
}

#[derive(Deserialize)]
struct Family {
    id: String,
    intent: String,
    train: String,
    heldout: Vec<String>,
}

#[derive(Deserialize)]
struct Routing {
    question: Vec<RoutingQuestion>,
}

#[derive(Deserialize, Clone)]
struct RoutingQuestion {
    text: String,
    intent: String,
    best: String,
    #[serde(default)]
    acceptable: Vec<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(args.get(1).map_or("bench/learning", String::as_str));
    let findings = findings(&data);
    let encoder = std::env::var_os("QA_AGENT_ENCODER_DIR").map(|d| {
        Arc::new(
            SentenceEncoder::load(Path::new(&d))
                .unwrap_or_else(|e| panic!("QA_AGENT_ENCODER_DIR: {e}")),
        )
    });
    let intents = intents(&data, encoder.clone());
    let routing = routing(&data, encoder.clone());
    let knowledge = knowledge(&data, encoder.as_deref());
    let report = json!({ "findings": findings, "intents": intents, "routing": routing, "knowledge": knowledge });
    let text = serde_json::to_string_pretty(&report).expect("report serialises");
    match args.get(2) {
        Some(out) => std::fs::write(out, &text).expect("writes the report"),
        None => println!("{text}"),
    }
}

fn findings(data: &Path) -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("judgements"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut outcomes = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("judgements read");
        let repo: JudgedRepository =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        outcomes.push(replay_repository(&repo));
    }
    eprintln!("\n## Findings: top-10 precision before/after two users' feedback\n");
    eprintln!(
        "| repository | findings | TP | before | after | Δ pts | unjudged before | unjudged after | judgements | dismissed shown again |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|---|");
    let pct = |x: Option<f64>| x.map_or("absent".into(), |x| format!("{:.0}%", x * 100.0));
    for o in &outcomes {
        eprintln!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.repository,
            o.findings,
            o.true_positives,
            pct(o.precision_before),
            pct(o.precision_after),
            match (o.precision_before, o.precision_after) {
                (Some(b), Some(a)) => format!("{:+.0}", (a - b) * 100.0),
                _ => "absent".into(),
            },
            pct(o.unjudged_precision_before),
            pct(o.unjudged_precision_after),
            o.judgements,
            o.dismissed_shown_again
        );
    }
    let s = qa_learning::replay::summary(&outcomes);
    eprintln!(
        "\nmean over the {} repositories with findings: top-10 precision {:.1}% -> {:.1}% ({:+.1} points); dismissed findings shown again: {}",
        s["repositories_measured"],
        s["precision_before"] * 100.0,
        s["precision_after"] * 100.0,
        (s["precision_after"] - s["precision_before"]) * 100.0,
        s["dismissed_shown_again"]
    );
    json!({ "repositories": outcomes, "summary": s })
}

/// Knowledge retrieval: every family's `train` question is an accepted answer in the
/// knowledge base; each held-out paraphrase is then asked. Reported: how often the
/// family's own answer is the top hit, and how often the orchestrator would show it
/// (top hit of the family and similar enough) or show another family's answer instead.
fn knowledge(data: &Path, encoder: Option<&SentenceEncoder>) -> Value {
    use qa_agents::related::{SIMILAR, similarity};
    let text = std::fs::read_to_string(data.join("corrections.toml")).expect("corrections.toml");
    let c: Corrections = toml::from_str(&text).expect("corrections.toml parses");
    let kb = qa_knowledge::KnowledgeBase::in_memory();
    let docs: Vec<qa_knowledge::Doc> = c
        .family
        .iter()
        .map(|f| qa_knowledge::Doc {
            key: f.id.clone(),
            kind: qa_knowledge::Kind::Answer,
            tenant: Some(1),
            title: f.train.clone(),
            body: format!("(the accepted answer to: {})", f.train),
            reference: f.id.clone(),
        })
        .collect();
    kb.sync(&docs).expect("indexes");
    let (mut asked, mut top1, mut shown_right, mut shown_wrong) = (0, 0, 0, 0);
    // Right and wrong shows at other similarity thresholds than the one in use.
    let thresholds = [0.2, 0.3, 0.4, SIMILAR, 0.6];
    let mut curve = vec![(0usize, 0usize); thresholds.len()];
    for f in &c.family {
        for q in &f.heldout {
            asked += 1;
            let hits = kb
                .search(1, q, &[qa_knowledge::Kind::Answer], 6)
                .expect("searches");
            if hits.first().is_some_and(|h| h.key == f.id) {
                top1 += 1;
            }
            // What the orchestrator shows: hits similar enough, best first.
            let shown: Vec<&str> = hits
                .iter()
                .filter(|h| similarity(q, &h.title) >= SIMILAR)
                .take(3)
                .map(|h| h.key.as_str())
                .collect();
            if shown.contains(&f.id.as_str()) {
                shown_right += 1;
            }
            if shown.iter().any(|k| *k != f.id) {
                shown_wrong += 1;
            }
            for (t, c) in thresholds.iter().zip(curve.iter_mut()) {
                let keys: Vec<&str> = hits
                    .iter()
                    .filter(|h| similarity(q, &h.title) >= *t)
                    .take(3)
                    .map(|h| h.key.as_str())
                    .collect();
                c.0 += usize::from(keys.contains(&f.id.as_str()));
                c.1 += usize::from(keys.iter().any(|k| *k != f.id));
            }
        }
    }
    let rate = |n: usize| n as f64 / asked as f64;
    eprintln!("\n## Knowledge: accepted answers retrieved for paraphrased questions\n");
    eprintln!(
        "{asked} paraphrases of {} accepted answers: top hit right {top1} ({:.0}%), shown with the answer {shown_right} ({:.0}%), another family's shown {shown_wrong} ({:.0}%)",
        c.family.len(),
        rate(top1) * 100.0,
        rate(shown_right) * 100.0,
        rate(shown_wrong) * 100.0
    );
    let curve: Vec<Value> = thresholds
        .iter()
        .zip(&curve)
        .map(|(t, (right, wrong))| {
            eprintln!(
                "  similarity >= {t:.2}: right shown {:.0}%, wrong shown {:.0}%",
                rate(*right) * 100.0,
                rate(*wrong) * 100.0
            );
            json!({ "threshold": t, "shown_right": rate(*right), "shown_wrong": rate(*wrong) })
        })
        .collect();
    let meaning = encoder.map(|e| knowledge_by_meaning(data, &c, &kb, e));
    json!({
        "threshold_curve": curve,
        "accepted_answers": c.family.len(),
        "paraphrases": asked,
        "top1": rate(top1),
        "shown_right": rate(shown_right),
        "shown_wrong": rate(shown_wrong),
        "by_meaning": meaning,
    })
}

/// What the orchestrator shows with the sentence encoder: the knowledge base's 20 best
/// hits, shown when their question is close enough in meaning, most similar first.
/// Thresholds are tried on `heldout`; the fresh set is measured at the one in use.
fn knowledge_by_meaning(
    data: &Path,
    c: &Corrections,
    kb: &qa_knowledge::KnowledgeBase,
    encoder: &SentenceEncoder,
) -> Value {
    use qa_agents::related::{SIMILAR_MEANING, similar_by_meaning};
    let later = later_sets(data);
    let shown = |q: &str, threshold: f32| -> Vec<String> {
        let hits = kb
            .search(1, q, &[qa_knowledge::Kind::Answer], 20)
            .expect("searches");
        let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
        similar_by_meaning(encoder, q, &titles, threshold)
            .expect("encodes")
            .into_iter()
            .map(|(i, _)| hits[i].key.clone())
            .collect()
    };
    let measure = |set: &dyn Fn(&Family) -> Vec<String>, threshold: f32| {
        let (mut asked, mut right, mut wrong) = (0usize, 0usize, 0usize);
        for f in &c.family {
            for q in set(f) {
                asked += 1;
                let keys = shown(&q, threshold);
                right += usize::from(keys.contains(&f.id));
                wrong += usize::from(keys.iter().any(|k| *k != f.id));
            }
        }
        (
            asked,
            right as f64 / asked.max(1) as f64,
            wrong as f64 / asked.max(1) as f64,
        )
    };
    eprintln!("\nby meaning (the sentence encoder over the 20 best BM25 hits):");
    let mut curve = Vec::new();
    for t in [0.4, 0.5, SIMILAR_MEANING, 0.7] {
        let (_, right, wrong) = measure(&|f| f.heldout.clone(), t);
        eprintln!(
            "  held-out, similarity >= {t:.2}: right shown {:.0}%, wrong shown {:.0}%",
            right * 100.0,
            wrong * 100.0
        );
        curve.push(json!({ "threshold": t, "shown_right": right, "shown_wrong": wrong }));
    }
    let mut out = json!({ "threshold_curve_heldout": curve, "threshold": SIMILAR_MEANING });
    for (name, set) in &later {
        let (n, right, wrong) = measure(
            &|f| set.get(&f.id).cloned().unwrap_or_default(),
            SIMILAR_MEANING,
        );
        eprintln!(
            "  {name} ({n}), similarity >= {SIMILAR_MEANING:.2}: right shown {:.0}%, wrong shown {:.0}%",
            right * 100.0,
            wrong * 100.0
        );
        out[format!("{name}_paraphrases")] = json!(n);
        out[format!("{name}_shown_right")] = json!(right);
        out[format!("{name}_shown_wrong")] = json!(wrong);
    }
    out
}

/// The later held-out sets, by family id: `fresh` (`corrections-fresh.toml`) and
/// `third` (`corrections-third.toml`), each written after the blend was chosen and never
/// used for tuning; a missing file is left out.
fn later_sets(data: &Path) -> Vec<(&'static str, BTreeMap<String, Vec<String>>)> {
    [
        ("fresh", "corrections-fresh.toml"),
        ("third", "corrections-third.toml"),
    ]
    .into_iter()
    .filter_map(|(name, file)| {
        let t = std::fs::read_to_string(data.join(file)).ok()?;
        let f: LaterSet = toml::from_str(&t).unwrap_or_else(|e| panic!("{file}: {e}"));
        Some((
            name,
            f.family.into_iter().map(|f| (f.id, f.fresh)).collect(),
        ))
    })
    .collect()
}

fn intents(data: &Path, encoder: Option<Arc<SentenceEncoder>>) -> Value {
    let text = std::fs::read_to_string(data.join("corrections.toml")).expect("corrections.toml");
    let c: Corrections = toml::from_str(&text).expect("corrections.toml parses");
    // Later held-out sets, written after the sentence encoder was chosen.
    let later = later_sets(data);
    let words = intents_with(&c, &later, "words", None);
    let meaning = match encoder {
        Some(e) => intents_with(&c, &later, "words and meaning", Some(e)),
        None => {
            eprintln!("\n(no QA_AGENT_ENCODER_DIR: intents by meaning not measured)");
            Value::Null
        }
    };
    json!({ "words": words, "words_and_meaning": meaning })
}

#[derive(Deserialize)]
struct LaterSet {
    family: Vec<LaterFamily>,
}

#[derive(Deserialize)]
struct LaterFamily {
    id: String,
    #[serde(alias = "third")]
    fresh: Vec<String>,
}

fn intents_with(
    c: &Corrections,
    later: &[(&str, BTreeMap<String, Vec<String>>)],
    label: &str,
    encoder: Option<Arc<SentenceEncoder>>,
) -> Value {
    let builtin = Planner::with_sentences(&LearnedState::default(), encoder.clone());
    let understood = |p: &Planner, q: &str| p.understand(q).classification.intent;
    // A user corrects only what the planner got wrong.
    let mut taught = LearnedState::default();
    let mut corrected = Vec::new();
    for f in &c.family {
        let meant = Intent::parse(&f.intent).unwrap_or_else(|| panic!("{}: intent", f.id));
        if understood(&builtin, &f.train) != meant {
            taught.extra_examples.push((meant, f.train.clone()));
            corrected.push(f.id.clone());
        }
    }
    let learned = Planner::with_sentences(&taught, encoder);
    // (right, total) over one held-out set: `heldout` (None), or a later one.
    type Set<'a> = Option<&'a BTreeMap<String, Vec<String>>>;
    let questions = |f: &Family, set: Set| -> Vec<String> {
        match set {
            Some(s) => s.get(&f.id).cloned().unwrap_or_default(),
            None => f.heldout.clone(),
        }
    };
    let accuracy_by = |ok: &dyn Fn(&str, Intent) -> bool, only_corrected: bool, set: Set| {
        let mut right = 0;
        let mut total = 0;
        for f in &c.family {
            if only_corrected && !corrected.contains(&f.id) {
                continue;
            }
            let meant = Intent::parse(&f.intent).expect("checked above");
            for q in questions(f, set) {
                total += 1;
                right += usize::from(ok(&q, meant));
            }
        }
        (right, total)
    };
    let accuracy = |p: &Planner, only_corrected: bool, set: Set| {
        accuracy_by(&|q, meant| understood(p, q) == meant, only_corrected, set)
    };
    if std::env::var_os("QA_REPLAY_SWEEP").is_some() && learned.understands_by_meaning() {
        // Blend settings, on the first held-out set only (the fresh one is for reporting).
        let parts: BTreeMap<String, _> = c
            .family
            .iter()
            .flat_map(|f| f.heldout.iter())
            .map(|q| (q.clone(), learned.classify_parts(q)))
            .collect();
        let blends = [0.3, 0.5, 0.7, 1.0]
            .into_iter()
            .flat_map(|w| [0.02, 0.05].map(|t| (w, t)))
            .flat_map(|(w, t)| [0.0, 0.05, 0.1].map(|c| (w, t, c)));
        for (weight, temperature, correction_bonus) in blends {
            let b = Blend {
                weight,
                temperature,
                correction_bonus,
                ..Blend::default()
            };
            let ok = |q: &str, meant: Intent| {
                let (w, n) = &parts[q];
                n.as_ref().map_or(w.intent, |n| blend(w, n, b).intent) == meant
            };
            let (cr, ct) = accuracy_by(&ok, true, None);
            let (ar, at) = accuracy_by(&ok, false, None);
            eprintln!(
                "sweep weight {weight} temperature {temperature} bonus {correction_bonus}: corrected {cr}/{ct}, all {ar}/{at}"
            );
        }
    }
    let train_after = c
        .family
        .iter()
        .filter(|f| corrected.contains(&f.id))
        .filter(|f| understood(&learned, &f.train) == Intent::parse(&f.intent).expect("checked"))
        .count();
    let rate = |(r, t): (usize, usize)| {
        if t == 0 {
            None
        } else {
            Some(r as f64 / t as f64)
        }
    };
    eprintln!("\n## Intents ({label}): corrections of misunderstood questions\n");
    eprintln!(
        "families {}, corrected (train question misunderstood) {}; corrected questions now understood {}/{}",
        c.family.len(),
        corrected.len(),
        train_after,
        corrected.len()
    );
    let mut out = json!({
        "families": c.family.len(),
        "corrected": corrected.len(),
        "corrected_train_understood_after": train_after,
    });
    if std::env::var_os("QA_REPLAY_DEBUG").is_some() {
        // Misses on the first held-out set only: the later sets are for reporting.
        for f in c.family.iter().filter(|f| corrected.contains(&f.id)) {
            for q in &f.heldout {
                let got = understood(&learned, q);
                if got.as_str() != f.intent {
                    eprintln!("miss {} ({} read as {}): {q}", f.id, f.intent, got.as_str());
                }
            }
        }
    }
    let sets = std::iter::once(("heldout", None)).chain(later.iter().map(|(n, s)| (*n, Some(s))));
    for (set, questions) in sets {
        let mut line = Vec::new();
        for (which, only_corrected) in [("corrected", true), ("all", false)] {
            let before = accuracy(&builtin, only_corrected, questions);
            let after = accuracy(&learned, only_corrected, questions);
            line.push(format!(
                "{}/{} -> {}/{}",
                before.0, before.1, after.0, after.1
            ));
            out[format!("{set}_{which}_before")] = json!(rate(before));
            out[format!("{set}_{which}_after")] = json!(rate(after));
            out[format!("{set}_{which}_n")] = json!(before.1);
        }
        eprintln!(
            "{set} paraphrases of corrected families: {}; of all families: {}",
            line[0], line[1]
        );
    }
    out
}

/// The simulated rating of a route for a question (see bench/learning/README.md):
/// 5 the best specialist alone, 4 a group including them, 3 an acceptable one alone,
/// 2 a group with only acceptable ones, else 1.
fn simulated_rating(route: &Route, q: &RoutingQuestion) -> i32 {
    let names: Vec<String> = route
        .specialists
        .iter()
        .map(|s| s.name().replace('-', "_"))
        .collect();
    let has = |n: &String| names.contains(n);
    match (names.len(), has(&q.best), q.acceptable.iter().any(has)) {
        (1, true, _) => 5,
        (_, true, _) => 4,
        (1, false, true) => 3,
        (_, false, true) => 2,
        _ => 1,
    }
}

/// The planner's understanding of a question with the intent the user meant: where the
/// planner read it otherwise, its reading is the question's other concern.
fn as_meant(planner: &Planner, q: &RoutingQuestion) -> Understanding {
    let mut u = planner.understand(&q.text);
    let meant = Intent::parse(&q.intent).expect("known intent");
    let read = u.classification.intent;
    if read != meant {
        u.classification.intent = meant;
        u.classification.alternative = Some((read, 1.0));
    }
    u
}

/// The planner's route without ratings (a rule question goes to the rule's specialist,
/// as in the services).
fn fixed_for(u: &Understanding) -> Route {
    fixed_route(u.classification.intent, &u.entities)
}

/// Routing on each routing file alone (`routing.toml` as measured before the later
/// ones were written) and together.
fn routing(data: &Path, encoder: Option<Arc<SentenceEncoder>>) -> Value {
    let load = |file: &str| -> Vec<RoutingQuestion> {
        let Ok(text) = std::fs::read_to_string(data.join(file)) else {
            return Vec::new();
        };
        let r: Routing = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        r.question
    };
    let first = load("routing.toml");
    assert!(!first.is_empty(), "routing.toml: no questions");
    let second = load("routing-2.toml");
    // Written after the routing design was settled, never looked at but for its totals.
    let third = load("routing-3.toml");
    let both: Vec<RoutingQuestion> = first.iter().chain(&second).cloned().collect();
    let all: Vec<RoutingQuestion> = both.iter().chain(&third).cloned().collect();
    let mut out = json!({});
    for (key, label, questions) in [
        ("routing_toml", "routing.toml", &first),
        ("routing_2_toml", "routing-2.toml", &second),
        ("both_files", "routing.toml and routing-2.toml", &both),
        ("routing_3_toml", "routing-3.toml", &third),
        ("all_files", "all three routing files", &all),
    ] {
        if questions.is_empty() || (key == "all_files" && third.is_empty()) {
            continue;
        }
        if key == "routing_toml" && std::env::var_os("QA_REPLAY_SWEEP").is_some() {
            routing_sweep(questions, encoder.clone());
        }
        eprintln!("\n## Routing on {label} ({} questions)", questions.len());
        out[key] = routing_runs(questions, &RouteLearning::default(), encoder.clone(), false);
    }
    out
}

/// Priors and pooling tried on `routing.toml` alone; the later files are for reporting.
fn routing_sweep(questions: &[RoutingQuestion], encoder: Option<Arc<SentenceEncoder>>) {
    let quiet = std::env::var_os("QA_REPLAY_DEBUG").is_none();
    for pool in [false, true] {
        for (builtin_prior, alternative_prior) in [
            ((4.0, 1.0), (1.0, 3.0)),
            ((2.0, 0.5), (0.5, 1.5)),
            ((4.0, 1.0), (1.0, 1.0)),
            ((2.0, 0.5), (1.0, 1.0)),
            ((1.6, 0.4), (0.25, 0.75)),
        ] {
            let learning = RouteLearning {
                builtin_prior,
                alternative_prior,
                pool,
            };
            let r = routing_runs(questions, &learning, encoder.clone(), quiet);
            eprintln!(
                "routing sweep pool {pool} builtin {builtin_prior:?} alternative {alternative_prior:?}: held-out fixed {:.3} learned {:.3} (better {} worse {}); learning half fixed {:.3} learned {:.3}",
                r["heldout_fixed_mean"].as_f64().unwrap_or(0.0),
                r["heldout_learned_mean"].as_f64().unwrap_or(0.0),
                r["runs_learned_better"],
                r["runs_learned_worse"],
                r["online_fixed_mean"].as_f64().unwrap_or(0.0),
                r["online_learned_mean"].as_f64().unwrap_or(0.0),
            );
        }
    }
}

/// Routing over both splits of the questions (learn on the even ones and hold out the
/// odd ones, then the other way round) and five seeds each: one seed and one split can
/// tip a comparison this close.
fn routing_runs(
    questions: &[RoutingQuestion],
    learning: &RouteLearning,
    encoder: Option<Arc<SentenceEncoder>>,
    quiet: bool,
) -> Value {
    let mut runs = Vec::new();
    for swap in [false, true] {
        for seed in 2026..2031 {
            let verbose = !quiet && !swap && seed == 2026;
            runs.push(routing_once(
                questions,
                learning,
                seed,
                swap,
                verbose,
                encoder.clone(),
            ));
        }
    }
    let field = |k: &str| -> Vec<f64> { runs.iter().filter_map(|r| r[k].as_f64()).collect() };
    let avg = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let (fixed, learned) = (field("heldout_fixed_mean"), field("heldout_learned_mean"));
    let diffs: Vec<f64> = learned.iter().zip(&fixed).map(|(l, f)| l - f).collect();
    let better = diffs.iter().filter(|d| **d > 0.0).count();
    let worse = diffs.iter().filter(|d| **d < 0.0).count();
    // Per intent over all runs: mean fixed and learned rating on the held-out halves.
    let mut by_intent: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for r in &runs {
        for (intent, v) in r["by_intent"].as_object().into_iter().flatten() {
            let e = by_intent.entry(intent.clone()).or_default();
            for (i, x) in v.as_array().into_iter().flatten().enumerate().take(3) {
                e[i] += x.as_f64().unwrap_or(0.0);
            }
        }
    }
    let by_intent: BTreeMap<String, Value> = by_intent
        .into_iter()
        .map(|(k, [f, l, n])| (k, json!({ "fixed": f / n, "learned": l / n })))
        .collect();
    let mut summary = json!({
        "runs": runs.len(),
        "heldout_fixed_mean": avg(&fixed),
        "heldout_learned_mean": avg(&learned),
        "runs_learned_better": better,
        "runs_learned_worse": worse,
        "online_fixed_mean": avg(&field("online_fixed_mean")),
        "online_learned_mean": avg(&field("online_learned_mean")),
        "min_difference": diffs.iter().cloned().fold(f64::INFINITY, f64::min),
    });
    if quiet {
        return summary;
    }
    eprintln!(
        "\nover 2 splits x 5 seeds: held-out fixed {:.3}, learned {:.3} (learned better in {better}, worse in {worse} of {} runs; min difference {:+.3})",
        avg(&fixed),
        avg(&learned),
        runs.len(),
        diffs.iter().cloned().fold(f64::INFINITY, f64::min)
    );
    eprintln!(
        "per intent, held-out (fixed -> learned): {}",
        by_intent
            .iter()
            .map(|(k, v)| format!(
                "{k} {:.2} -> {:.2}",
                v["fixed"].as_f64().unwrap_or(0.0),
                v["learned"].as_f64().unwrap_or(0.0)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    summary["by_intent"] = json!(by_intent);
    summary["first_run"] = runs[0].clone();
    summary
}

fn routing_once(
    questions: &[RoutingQuestion],
    learning: &RouteLearning,
    seed: u64,
    swap: bool,
    verbose: bool,
    encoder: Option<Arc<SentenceEncoder>>,
) -> Value {
    let (learn, heldout): (Vec<_>, Vec<_>) = questions
        .iter()
        .enumerate()
        .partition(|(i, _)| (i % 2 == 0) != swap);
    let learn: Vec<&RoutingQuestion> = learn.into_iter().map(|(_, q)| q).collect();
    let heldout: Vec<&RoutingQuestion> = heldout.into_iter().map(|(_, q)| q).collect();
    // The question's other concern as the services' planner sees it (by meaning too,
    // when the encoder is there).
    let planner = Planner::with_sentences(&LearnedState::default(), encoder);
    // Understood once each: the passes below ask for them again and again.
    let understood: BTreeMap<(String, String), Understanding> = questions
        .iter()
        .map(|q| ((q.text.clone(), q.intent.clone()), as_meant(&planner, q)))
        .collect();
    fn of<'a>(
        m: &'a BTreeMap<(String, String), Understanding>,
        q: &RoutingQuestion,
    ) -> &'a Understanding {
        &m[&(q.text.clone(), q.intent.clone())]
    }
    let meant = |q: &RoutingQuestion| of(&understood, q);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut events: Vec<Event> = Vec::new();
    let mut online = Vec::new();
    let mut fixed_online = Vec::new();
    const PASSES: usize = 10;
    for _ in 0..PASSES {
        let mut order = learn.clone();
        order.shuffle(&mut rng);
        for q in order {
            let state = qa_learning::LearnedState::build(events.clone());
            let taught = state
                .tenants
                .get(&1)
                .map(qa_agents::learned::planner_state)
                .unwrap_or_default();
            let u = meant(q);
            let builtin = fixed_for(u);
            let route = match rated_arms(&taught.route_arms, u, learning) {
                Some(arms) => {
                    choose_route(builtin.clone(), &arms, learning, |c| thompson(c, &mut rng))
                }
                None => builtin.clone(),
            };
            let rating = simulated_rating(&route, q);
            online.push(f64::from(rating));
            fixed_online.push(f64::from(simulated_rating(&builtin, q)));
            events.push(Event {
                id: events.len() as i64 + 1,
                tenant_id: 1,
                user_id: Some(1),
                target: Target::Answer,
                kind: FeedbackKind::Rating,
                rating: Some(rating),
                comment: None,
                scope: None,
                subject: None,
                context: Context {
                    question: Some(q.text.clone()),
                    intent: Some(q.intent.clone()),
                    secondary_intent: routing_context(u).map(|o| o.as_str().to_string()),
                    specialists: route
                        .specialists
                        .iter()
                        .map(|s| s.name().to_string())
                        .collect(),
                    mode: Some(route.mode.as_str().to_string()),
                    ..Default::default()
                },
                created_at: events.len() as i64 + 1,
            });
        }
    }
    let state = qa_learning::LearnedState::build(events.clone());
    let taught = state
        .tenants
        .get(&1)
        .map(qa_agents::learned::planner_state)
        .unwrap_or_default();
    let greedy_route = |q: &RoutingQuestion| -> Route {
        let u = meant(q);
        match rated_arms(&taught.route_arms, u, learning) {
            Some(arms) => choose_route(fixed_for(u), &arms, learning, |c: &[Candidate]| greedy(c)),
            None => fixed_for(u),
        }
    };
    let mean = |xs: &[f64]| {
        if xs.is_empty() {
            None
        } else {
            Some(xs.iter().sum::<f64>() / xs.len() as f64)
        }
    };
    let fixed: Vec<f64> = heldout
        .iter()
        .map(|q| f64::from(simulated_rating(&fixed_for(meant(q)), q)))
        .collect();
    let learned: Vec<f64> = heldout
        .iter()
        .map(|q| f64::from(simulated_rating(&greedy_route(q), q)))
        .collect();
    // Per intent: summed fixed and learned ratings and questions, over the held-out half.
    let mut by_intent: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for (q, (f, l)) in heldout.iter().zip(fixed.iter().zip(&learned)) {
        let e = by_intent.entry(q.intent.clone()).or_default();
        e[0] += f;
        e[1] += l;
        e[2] += 1.0;
    }
    if verbose && std::env::var_os("QA_REPLAY_DEBUG").is_some() {
        for q in questions {
            let u = meant(q);
            let key = context_key(u.classification.intent, routing_context(u));
            let arms = taught.route_arms.get(&key).map(|a| {
                a.iter()
                    .map(|(r, s, f)| {
                        format!(
                            "{}={s:.1}/{f:.1}",
                            r.specialists
                                .iter()
                                .map(|x| x.name())
                                .collect::<Vec<_>>()
                                .join("+")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            eprintln!(
                "{key:28} best={:20} fixed={:20} arms={:?}",
                q.best,
                fixed_for(u)
                    .specialists
                    .iter()
                    .map(|x| x.name())
                    .collect::<Vec<_>>()
                    .join("+"),
                arms
            );
        }
    }
    // Where the learned route differs from the fixed one, per held-out question.
    let mut routes = BTreeMap::new();
    let label = |r: &Route| {
        let names: Vec<&str> = r.specialists.iter().map(|s| s.name()).collect();
        if names.len() > 1 {
            format!("{}:{}", r.mode.as_str(), names.join(","))
        } else {
            names.join(",")
        }
    };
    for q in &heldout {
        let (b, l) = (fixed_for(meant(q)), greedy_route(q));
        if b != l {
            routes.insert(
                q.text.clone(),
                json!({ "fixed": label(&b), "learned": label(&l), "best": q.best }),
            );
        }
    }
    if !verbose {
        return json!({
            "online_fixed_mean": mean(&fixed_online),
            "online_learned_mean": mean(&online),
            "heldout_fixed_mean": mean(&fixed),
            "heldout_learned_mean": mean(&learned),
            "by_intent": by_intent,
        });
    }
    eprintln!("\n## Routing: simulated ratings (1-5)\n");
    eprintln!(
        "learning half ({} questions x {PASSES} passes, Thompson sampling, exploration included): fixed {:.2}, learned {:.2}",
        learn.len(),
        mean(&fixed_online).unwrap_or(0.0),
        mean(&online).unwrap_or(0.0)
    );
    eprintln!(
        "held-out half ({} questions, learned routes greedy): fixed {:.2}, learned {:.2}",
        heldout.len(),
        mean(&fixed).unwrap_or(0.0),
        mean(&learned).unwrap_or(0.0)
    );
    eprintln!(
        "routes changed: {}",
        serde_json::to_string(&routes).unwrap_or_default()
    );
    json!({
        "learning_questions": learn.len(),
        "passes": PASSES,
        "online_fixed_mean": mean(&fixed_online),
        "online_learned_mean": mean(&online),
        "heldout_questions": heldout.len(),
        "heldout_fixed_mean": mean(&fixed),
        "heldout_learned_mean": mean(&learned),
        "by_intent": by_intent,
        "routes_changed": routes,
    })
}
