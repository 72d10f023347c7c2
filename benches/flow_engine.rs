//! The flow engine alone (no actor, no switch): one caller's whole way
//! through a flow, fed the inputs a real call would get, from entering the
//! flow to being queued. Two flows in the same run:
//!
//! - the built-in default (welcome, queue): the start and one input;
//! - five nodes (play, menu, collect, branch on an expression, queue): the
//!   start and four inputs (the welcome's end, key 1 barging into the
//!   menu's prompt, that prompt's end, then "91234#" for the collect),
//!   with two expressions evaluated.
//!
//! Criterion's "elements" are engine steps (the start and each input), so
//! its throughput is flow steps per second; its time per iteration is one
//! caller through the flow. Compiling the flow is outside the timed region:
//! it happens once per flow version, not per call.
//! `cargo bench --bench flow_engine`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spcti_actors::flow::{
    CheckContext, Flow, FlowEnv, FlowRun, IvrAction, IvrInput, builtin_default, parse_flow,
};
use spcti_protocol::GroupNo;

const FIVE: &str = r#"{
  "name": "five", "start": "welcome", "popup": ["customer_id"],
  "nodes": {
    "welcome": {"kind": "play", "prompt": "welcome", "next": "menu"},
    "menu":    {"kind": "menu", "prompt": "welcome", "timeout_s": 5, "choices": {"1": "ask"}, "fail": "q"},
    "ask":     {"kind": "collect", "var": "customer_id", "min": 4, "max": 10, "timeout_s": 10, "next": "vip", "fail": "q"},
    "vip":     {"kind": "branch", "if": "customer_id.starts_with(\"9\") && caller != \"\"", "then": "q", "else": "q"},
    "q":       {"kind": "queue", "group": 1}
  }
}"#;

fn five() -> Arc<Flow> {
    let cx = CheckContext {
        group: &|_| true,
        prompt: &|_| true,
        flow: &|_| true,
    };
    Arc::new(parse_flow("five", FIVE, 1, &cx).expect("the bench flow checks"))
}

fn vars() -> BTreeMap<String, String> {
    [
        ("caller", "13800138000"),
        ("callee", "4008001234"),
        ("ch", "3"),
        ("tellguid", "769194c3423c40e78e237ba83900dbfb"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// One caller through `flow` with `inputs`; ends queued (checked).
fn caller(flow: &Arc<Flow>, inputs: &[IvrInput], env: &FlowEnv<'_>) -> usize {
    let mut run = FlowRun::new(flow.clone(), vars());
    let mut actions = run.start(env).len();
    for i in inputs {
        actions += run.step(i.clone(), env).len();
    }
    debug_assert!(run.done());
    actions
}

fn bench(c: &mut Criterion) {
    let globals = BTreeMap::new();
    let local = || {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    };
    let look = |_: &str| None;
    let env = FlowEnv {
        now: Duration::ZERO,
        local: &local,
        globals: &globals,
        flows: &look,
        set: Default::default(),
    };
    let default = Arc::new(builtin_default(Some(GroupNo(1))));
    let default_inputs = [IvrInput::PlayDone { completed: true }];
    let five = five();
    let five_inputs = [
        IvrInput::PlayDone { completed: true },
        IvrInput::Digits("1".into()),
        IvrInput::PlayDone { completed: false },
        IvrInput::Digits("91234#".into()),
    ];
    // The bench measures what it says: both callers end in the queue.
    for (flow, inputs) in [(&default, &default_inputs[..]), (&five, &five_inputs[..])] {
        let mut run = FlowRun::new(flow.clone(), vars());
        let mut last = run.start(&env);
        for i in inputs {
            last = run.step(i.clone(), &env);
        }
        assert!(
            run.done() && matches!(last.last(), Some(IvrAction::Queue { .. })),
            "{}: {last:?}",
            flow.name
        );
    }

    let mut g = c.benchmark_group("flow_engine");
    g.throughput(Throughput::Elements(1 + default_inputs.len() as u64));
    g.bench_function("built-in default, one caller", |b| {
        b.iter(|| black_box(caller(&default, &default_inputs, &env)))
    });
    g.throughput(Throughput::Elements(1 + five_inputs.len() as u64));
    g.bench_function("five nodes, one caller", |b| {
        b.iter(|| black_box(caller(&five, &five_inputs, &env)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
