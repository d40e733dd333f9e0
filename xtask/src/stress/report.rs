//! Figures, their goals and verdicts; the per-scenario report and `target/smoketest/stress.json`.

use std::{fmt::Write as _, time::Duration};

use serde::Serialize;

use crate::stress::StressContext;

/// One measured figure, with the goal it is held to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Figure {
    /// What was measured, in words ("databases lost or stolen").
    pub(crate) name: String,
    /// The measured value.
    pub(crate) value: f64,
    /// Its unit: `s`, `MiB`, `count`, ...
    pub(crate) unit: &'static str,
    /// The largest value that meets the goal; `None` for a figure shown for information.
    pub(crate) goal_at_most: Option<f64>,
    /// The measurement stopped at a bound: the true value is at least `value`.
    pub(crate) cut_off: bool,
    /// Whether the goal is met (always true for information).
    pub(crate) passed: bool,
}

/// What a scenario measured so far: figures, and notes that explain them.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    figures: Vec<Figure>,
    notes: Vec<String>,
}

/// The outcome of one scenario.
#[derive(Debug, Serialize)]
pub(crate) struct ScenarioReport {
    /// The scenario's name (`race`, ...).
    pub(crate) name: String,
    /// Every goal met and no error.
    pub(crate) passed: bool,
    /// Why the scenario could not finish, if it could not.
    pub(crate) error: Option<String>,
    /// Wall time of the scenario, servers included.
    pub(crate) wall_s: f64,
    /// The figures, in the order measured.
    pub(crate) figures: Vec<Figure>,
    /// Details behind the figures.
    pub(crate) notes: Vec<String>,
}

/// `target/smoketest/stress.json`.
#[derive(Debug, Serialize)]
pub(crate) struct StressReport {
    /// The server binary under stress.
    pub(crate) server_binary: String,
    /// `--sql-time-limit-ms` of the SQL scenarios' servers.
    pub(crate) sql_time_limit_ms: u64,
    /// `--seconds`.
    pub(crate) seconds: u64,
    /// Ctrl-C stopped the run.
    pub(crate) interrupted: bool,
    /// Every scenario passed and the run was not interrupted.
    pub(crate) passed: bool,
    /// One report per scenario run.
    pub(crate) scenarios: Vec<ScenarioReport>,
}

impl Figure {
    /// A figure that meets its goal when `value <= goal_at_most`.
    pub(crate) fn goal(name: &str, value: f64, unit: &'static str, goal_at_most: f64) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit,
            goal_at_most: Some(goal_at_most),
            cut_off: false,
            passed: value <= goal_at_most,
        }
    }

    /// A figure shown for information, without a goal.
    pub(crate) fn info(name: &str, value: f64, unit: &'static str) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit,
            goal_at_most: None,
            cut_off: false,
            passed: true,
        }
    }

    /// Marks the figure as stopped at a bound (shown as `>= value`); a cut-off figure misses its goal
    /// unless the bound itself is within the goal.
    pub(crate) fn cut_off(mut self, cut_off: bool) -> Figure {
        self.cut_off = cut_off;
        if cut_off && let Some(goal) = self.goal_at_most {
            self.passed = self.value < goal;
        }
        self
    }

    /// `12.30 s`, `>= 30.00 s`, `0 count`.
    pub(crate) fn value_text(&self) -> String {
        let number = if self.value.fract() == 0.0 && self.value.abs() < 1e12 {
            format!("{}", self.value as i64)
        } else {
            format!("{:.2}", self.value)
        };
        let prefix = if self.cut_off { ">= " } else { "" };
        format!("{prefix}{number} {}", self.unit)
    }

    /// `<= 1.40 s`, or `(info)`.
    pub(crate) fn goal_text(&self) -> String {
        match self.goal_at_most {
            Some(goal) if goal.fract() == 0.0 => format!("<= {} {}", goal as i64, self.unit),
            Some(goal) => format!("<= {goal:.2} {}", self.unit),
            None => "(info)".to_owned(),
        }
    }

    /// `PASS`, `FAIL` or `info`.
    pub(crate) fn verdict_text(&self) -> &'static str {
        match (self.goal_at_most, self.passed) {
            (None, _) => "info",
            (Some(_), true) => "PASS",
            (Some(_), false) => "FAIL",
        }
    }
}

impl Findings {
    /// Records a figure and prints it at once, so a long scenario shows progress.
    pub(crate) fn figure(&mut self, figure: Figure) {
        eprintln!(
            "    {:<52} {:>14}  {:<14} {}",
            figure.name,
            figure.value_text(),
            figure.goal_text(),
            figure.verdict_text()
        );
        self.figures.push(figure);
    }

    /// Records a note that explains a figure, and prints it.
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("    note: {note}");
        self.notes.push(note);
    }
}

impl ScenarioReport {
    /// The report of a scenario that measured `findings` and ended with `error`, if any.
    pub(crate) fn new(
        name: String,
        findings: Findings,
        error: Option<String>,
        wall: Duration,
    ) -> ScenarioReport {
        let passed = error.is_none() && findings.figures.iter().all(|it| it.passed);
        ScenarioReport {
            name,
            passed,
            error,
            wall_s: wall.as_secs_f64(),
            figures: findings.figures,
            notes: findings.notes,
        }
    }

    /// The scenario's closing line (its figures were printed as they came).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(error) = &self.error {
            let _ = writeln!(out, "    ERROR: {error}");
        }
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "    {} {verdict} in {:.1}s", self.name, self.wall_s);
        out
    }
}

impl StressReport {
    /// An empty report for a run with `ctx`'s settings.
    pub(crate) fn new(ctx: &StressContext) -> StressReport {
        StressReport {
            server_binary: ctx.binary.display().to_string(),
            sql_time_limit_ms: u64::try_from(ctx.sql_time_limit.as_millis()).unwrap_or(u64::MAX),
            seconds: ctx.seconds,
            interrupted: false,
            passed: false,
            scenarios: Vec::new(),
        }
    }

    /// Sets the overall verdict once every scenario ran.
    pub(crate) fn finish(&mut self, interrupted: bool) {
        self.interrupted = interrupted;
        self.passed = !interrupted && self.scenarios.iter().all(|it| it.passed);
    }

    /// Names of the scenarios that missed a goal or failed to run.
    pub(crate) fn failed_scenarios(&self) -> Vec<&str> {
        self.scenarios
            .iter()
            .filter(|it| !it.passed)
            .map(|it| it.name.as_str())
            .collect()
    }

    /// Every figure of every scenario, one line each, with its goal and verdict.
    pub(crate) fn render_table(&self) -> String {
        let mut out = format!(
            "{:<20} {:<52} {:>14}  {:<14} {}\n",
            "scenario", "figure", "value", "goal", "verdict"
        );
        for scenario in &self.scenarios {
            for figure in &scenario.figures {
                let _ = writeln!(
                    out,
                    "{:<20} {:<52} {:>14}  {:<14} {}",
                    scenario.name,
                    figure.name,
                    figure.value_text(),
                    figure.goal_text(),
                    figure.verdict_text()
                );
            }
            if let Some(error) = &scenario.error {
                let _ = writeln!(out, "{:<20} ERROR: {error}", scenario.name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_passes_at_or_below_its_goal() {
        assert!(Figure::goal("lost", 0.0, "count", 0.0).passed);
        assert!(!Figure::goal("lost", 1.0, "count", 0.0).passed);
        assert!(Figure::goal("held", 1.4, "s", 1.4).passed);
        assert!(Figure::info("handles", 20_000.0, "count").passed);
    }

    #[test]
    fn a_cut_off_figure_fails_unless_the_bound_is_within_the_goal() {
        let held = Figure::goal("held", 30.0, "s", 2.0).cut_off(true);
        assert!(!held.passed);
        assert_eq!(held.value_text(), ">= 30 s");
        assert!(Figure::goal("held", 1.0, "s", 2.0).cut_off(true).passed);
        assert!(!Figure::goal("held", 2.0, "s", 2.0).cut_off(true).passed);
    }

    #[test]
    fn figures_render_value_goal_and_verdict() {
        let figure = Figure::goal("owner call latency", 29.123, "s", 1.4);
        assert_eq!(figure.value_text(), "29.12 s");
        assert_eq!(figure.goal_text(), "<= 1.40 s");
        assert_eq!(figure.verdict_text(), "FAIL");
        let info = Figure::info("server handles", 5003.0, "count");
        assert_eq!(
            (
                info.value_text().as_str(),
                info.goal_text().as_str(),
                info.verdict_text()
            ),
            ("5003 count", "(info)", "info")
        );
    }

    #[test]
    fn an_error_fails_the_scenario_and_keeps_its_figures() {
        let mut findings = Findings::default();
        findings.figure(Figure::goal("lost", 0.0, "count", 0.0));
        let report = ScenarioReport::new(
            "race".to_owned(),
            findings,
            Some("connection refused".to_owned()),
            Duration::from_secs(1),
        );
        assert!(!report.passed);
        assert_eq!(report.figures.len(), 1);
        assert!(report.render().contains("ERROR: connection refused"));
    }
}
