//! A progress bar on the terminal's standard error, and nothing when it is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qa_analysis::Progress;

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(enabled: bool) -> Bar {
        let bar = ProgressBar::hidden();
        if enabled {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} analysing {pos}/{len} files {wide_bar} {eta}",
                )
                .expect("valid template"),
            );
        }
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn advance(&self, _path: &str) {
        self.0.inc(1);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
