//! A dependency-free SVG of the training curves: loss per epoch and, when recorded, accuracy per epoch.

use std::fmt::Write as _;

use crate::history::{EpochRecord, History};
#[cfg(not(target_arch = "wasm32"))]
use {crate::error::Result, crate::internal::atomic_file::write_atomic, std::path::Path};

const PANEL_W: f64 = 480.0;
const PANEL_H: f64 = 340.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
/// Ticks past this are never drawn; guards against absurd ranges from huge or tiny values.
const MAX_TICKS: usize = 50;

/// One curve: finite (epoch, value) points only, so gaps and diverged values are skipped.
struct Series {
    label: &'static str,
    color: &'static str,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

fn series(h: &History, label: &'static str, dashed: bool, f: impl Fn(&EpochRecord) -> Option<f64>) -> Series {
    let color = if dashed { "#d62728" } else { "#1f77b4" };
    let points = h.epochs.iter().filter_map(|r| f(r).filter(|y| y.is_finite()).map(|y| (r.epoch as f64, y))).collect();
    Series { label, color, dashed, points }
}

/// The SVG document: a loss panel, plus an accuracy panel to its right when any accuracy was recorded.
pub fn history_svg(history: &History) -> String {
    let loss =
        [series(history, "train", false, |r| Some(r.train_loss)), series(history, "validation", true, |r| r.val_loss)];
    let acc = [
        series(history, "train", false, |r| r.train_accuracy),
        series(history, "validation", true, |r| r.val_accuracy),
    ];
    let with_acc = acc.iter().any(|s| !s.points.is_empty());
    let width = if with_acc { 2.0 * PANEL_W } else { PANEL_W };
    let mut out = String::new();
    let _ = write!(out, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{PANEL_H}""#);
    let _ = writeln!(out, r#" viewBox="0 0 {width} {PANEL_H}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(out, r#"<rect x="0" y="0" width="{width}" height="{PANEL_H}" fill="white"/>"#);
    // Loss falls and accuracy rises, so their legends go where the curves usually are not.
    panel(&mut out, 0.0, "Loss", "loss", &loss, false);
    if with_acc {
        panel(&mut out, PANEL_W, "Accuracy", "accuracy", &acc, true);
    }
    out.push_str("</svg>\n");
    out
}

/// Writes [`history_svg`] to `path` atomically.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_svg(path: &Path, history: &History) -> Result<()> {
    write_atomic(path, history_svg(history).as_bytes())
}

/// Escapes the five XML special characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// 1, 2 or 5 times a power of ten, the closest such step to `raw` (Heckbert's "nice numbers").
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// An axis range widened to multiples of a nice step: (lo, hi, step); `integer` forces step ≥ 1.
fn axis(min: f64, max: f64, integer: bool) -> (f64, f64, f64) {
    let (mut min, mut max) = (min, max);
    if min == max {
        let pad = if integer || min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        (min, max) = (min - pad, max + pad);
    }
    let mut step = nice_step((max - min) / 5.0);
    if integer {
        step = step.max(1.0);
    }
    let (lo, hi) = ((min / step).floor() * step, (max / step).ceil() * step);
    if lo.is_finite() && hi.is_finite() && hi > lo {
        (lo, hi, step)
    } else {
        (0.0, 1.0, 0.2)
    }
}

/// A tick label with just enough decimals for `step`; scientific notation for extreme magnitudes.
fn tick_label(v: f64, step: f64) -> String {
    // Snap values that are zero up to rounding so that "-0.0" or "1e-17" never appear.
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if v != 0.0 && (v.abs() >= 1e6 || step < 1e-4) {
        return format!("{v:e}");
    }
    let decimals = (-step.log10().floor()).clamp(0.0, 12.0) as usize;
    format!("{v:.decimals$}")
}

fn ticks(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let n = ((hi - lo) / step).round();
    let n = if n.is_finite() { (n as usize).min(MAX_TICKS) } else { 0 };
    (0..=n).map(move |i| lo + i as f64 * step)
}

/// Draws one panel at horizontal offset `x0`: frame, grid, ticks, curves, legend (top or bottom right), titles.
///
/// `write!` into a String cannot fail, hence the ignored results throughout this module.
fn panel(out: &mut String, x0: f64, title: &str, y_label: &str, all: &[Series], legend_bottom: bool) {
    let drawn: Vec<&Series> = all.iter().filter(|s| !s.points.is_empty()).collect();
    let frame = Frame::fit(x0, &drawn);
    let _ = writeln!(out, r#"<g>"#);
    frame.axes(out, title, y_label);
    if drawn.is_empty() {
        let (x, y) = (frame.left + frame.w / 2.0, frame.top + frame.h / 2.0);
        let _ = writeln!(out, r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle">no data</text>"#);
    }
    for s in &drawn {
        frame.curve(out, s);
    }
    frame.legend(out, &drawn, legend_bottom);
    out.push_str("</g>\n");
}

/// A panel's plotting area and the axis ranges mapped onto it.
struct Frame {
    x0: f64,
    left: f64,
    top: f64,
    w: f64,
    h: f64,
    /// x axis: low, high, tick step.
    x: (f64, f64, f64),
    /// y axis: low, high, tick step.
    y: (f64, f64, f64),
}

impl Frame {
    /// The frame at horizontal offset `x0` whose axes hold every point of `drawn`.
    fn fit(x0: f64, drawn: &[&Series]) -> Self {
        let pts = || drawn.iter().flat_map(|s| s.points.iter());
        let bounds = |f: fn(&(f64, f64)) -> f64| {
            pts()
                .map(f)
                .fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))))
        };
        let (x_min, x_max) = bounds(|p| p.0).unwrap_or((1.0, 1.0));
        let (y_min, y_max) = bounds(|p| p.1).unwrap_or((0.0, 1.0));
        Frame {
            x0,
            left: x0 + LEFT,
            top: TOP,
            w: PANEL_W - LEFT - RIGHT,
            h: PANEL_H - TOP - BOTTOM,
            x: axis(x_min, x_max, true),
            y: axis(y_min, y_max, false),
        }
    }

    fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * self.w
    }

    fn py(&self, y: f64) -> f64 {
        self.top + self.h - (y - self.y.0) / (self.y.1 - self.y.0) * self.h
    }

    /// The title, grid lines with tick labels, the frame and the axis titles.
    fn axes(&self, out: &mut String, title: &str, y_label: &str) {
        let (left, top, w, h) = (self.left, self.top, self.w, self.h);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            left + w / 2.0,
            escape(title)
        );
        for x in ticks(self.x.0, self.x.1, self.x.2) {
            let p = self.px(x);
            let _ = writeln!(
                out,
                r##"<line x1="{p:.1}" y1="{top:.1}" x2="{p:.1}" y2="{:.1}" stroke="#e5e5e5"/>"##,
                top + h
            );
            let label = escape(&tick_label(x, self.x.2));
            let _ = writeln!(out, r#"<text x="{p:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#, top + h + 16.0);
        }
        for y in ticks(self.y.0, self.y.1, self.y.2) {
            let p = self.py(y);
            let _ = writeln!(
                out,
                r##"<line x1="{left:.1}" y1="{p:.1}" x2="{:.1}" y2="{p:.1}" stroke="#e5e5e5"/>"##,
                left + w
            );
            let label = escape(&tick_label(y, self.y.2));
            let _ = writeln!(out, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#, left - 6.0, p + 4.0);
        }
        let _ = writeln!(
            out,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">epoch</text>"#,
            left + w / 2.0,
            PANEL_H - 10.0
        );
        let (lx, ly) = (self.x0 + 16.0, top + h / 2.0);
        let _ = writeln!(
            out,
            r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" transform="rotate(-90 {lx:.1} {ly:.1})">{}</text>"#,
            escape(y_label)
        );
    }

    /// One series as a polyline, with markers when it is short.
    fn curve(&self, out: &mut String, s: &Series) {
        let dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let coords: Vec<String> =
            s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y))).collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            s.color,
            coords.join(" ")
        );
        // Markers make short runs (a single epoch draws no line at all) visible.
        if s.points.len() <= 40 {
            for &(x, y) in &s.points {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                    self.px(x),
                    self.py(y),
                    s.color
                );
            }
        }
    }

    /// The legend box in the top (or bottom) right corner, one line per drawn series.
    fn legend(&self, out: &mut String, drawn: &[&Series], bottom: bool) {
        let (left, top, w, h) = (self.left, self.top, self.w, self.h);
        let legend_h = 18.0 * drawn.len() as f64 + 6.0;
        let legend_top = if bottom { top + h - 8.0 - legend_h } else { top + 8.0 };
        if !drawn.is_empty() {
            let lx = left + w - 116.0;
            let _ = write!(out, r#"<rect x="{lx:.1}" y="{legend_top:.1}" width="104" height="{legend_h:.1}""#);
            let _ = writeln!(out, r##" fill="white" fill-opacity="0.85" stroke="#999"/>"##);
        }
        for (i, s) in drawn.iter().enumerate() {
            let (x, y) = (left + w - 110.0, legend_top + 14.0 + 18.0 * i as f64);
            let dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" };
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"{dash}/>"#,
                x + 24.0,
                s.color
            );
            let _ = writeln!(out, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, x + 30.0, y + 4.0, escape(s.label));
        }
    }
}

#[cfg(test)]
#[path = "plot_tests.rs"]
mod tests;
