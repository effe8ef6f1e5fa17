//! Paired timing: what a case costs over another, measured so that a machine whose speed drifts
//! from one second to the next (a shared 2-core VM) still gives a steady figure.
//!
//! Criterion times each case in its own few seconds, so a drift between them shows up as a
//! difference between cases. Here every round times a short batch of each case back to back (in
//! a rotating order) and takes each case's difference from the case it is compared with, within
//! that round; the figure is the median of those differences over many rounds, with the
//! interquartile range.

use std::time::Instant;

/// One case: its name and one request (which must succeed).
pub(crate) struct Case<'a> {
    pub(crate) name: &'static str,
    pub(crate) request: Box<dyn FnMut() + 'a>,
}

impl<'a> Case<'a> {
    /// A case named `name` whose request is `request`.
    pub(crate) fn new(name: &'static str, request: impl FnMut() + 'a) -> Self {
        Case {
            name,
            request: Box::new(request),
        }
    }
}

/// A column of differences: its title, and for each case the index of the case it is compared
/// with (`None`: no figure in this column).
pub(crate) struct Column {
    pub(crate) title: &'static str,
    pub(crate) against: Vec<Option<usize>>,
}

/// Rounds and batch size from the command line (`cargo bench --bench X -- ROUNDS BATCH`; the
/// flags `cargo bench` adds are not numbers), defaulting to 2000 rounds of 100 requests.
pub(crate) fn rounds_and_batch() -> (usize, u32) {
    let numbers: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = numbers.first().copied().unwrap_or(2000) as usize;
    (rounds, numbers.get(1).copied().unwrap_or(100))
}

/// Nanoseconds per request over `batch` requests of `case`.
fn time(case: &mut Case<'_>, batch: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        (case.request)();
    }
    start.elapsed().as_nanos() as f64 / f64::from(batch)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn quartiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 4], values[values.len() * 3 / 4])
}

/// Runs the rounds and prints a Markdown table: each case's median time, one column per
/// `columns` entry, and its median time as a multiple of the first column's comparison case.
pub(crate) fn run(cases: &mut [Case<'_>], columns: &[Column], rounds: usize, batch: u32) {
    // Warm up: fill caches, fault in the code.
    for case in cases.iter_mut() {
        time(case, 1000);
    }
    let n = cases.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    let mut differences: Vec<Vec<Vec<f64>>> =
        vec![vec![Vec::with_capacity(rounds); n]; columns.len()];
    let mut this_round = vec![0.0; n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            this_round[i] = time(&mut cases[i], batch);
        }
        for i in 0..n {
            times[i].push(this_round[i]);
            for (c, column) in columns.iter().enumerate() {
                if let Some(j) = column.against[i] {
                    differences[c][i].push(this_round[i] - this_round[j]);
                }
            }
        }
    }
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    println!(
        "{rounds} rounds of {batch} requests per case; medians over the rounds, with the interquartile range"
    );
    let titles: String = columns
        .iter()
        .map(|c| format!(" ns {} |", c.title))
        .collect();
    println!("| case | ns per request |{titles} × the case of the first column |");
    println!("|---|---:|{}---:|", "---:|".repeat(columns.len()));
    for (i, case) in cases.iter().enumerate() {
        let cells: String = columns
            .iter()
            .enumerate()
            .map(|(c, _)| {
                let values = &mut differences[c][i];
                if values.is_empty() {
                    " — |".to_owned()
                } else {
                    let (low, high) = quartiles(values);
                    format!(" {:.0} ({low:.0} – {high:.0}) |", median(values))
                }
            })
            .collect();
        let ratio = match columns.first().and_then(|c| c.against[i]) {
            Some(j) => format!("{:.2}", medians[i] / medians[j]),
            None => "—".to_owned(),
        };
        println!("| {} | {:.0} |{cells} {ratio} |", case.name, medians[i]);
    }
}
