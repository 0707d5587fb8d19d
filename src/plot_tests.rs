//! Tests of `plot`: structure of the SVG for full, partial, single-epoch and empty histories.

use super::*;

/// Checks that tags nest properly under one `<svg>` root; returns the element names in document order.
fn balanced(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or("").trim_end_matches('/').to_string();
        assert!(!stack.is_empty() || (name == "svg" && names.is_empty()), "content outside the <svg> root: {name}");
        names.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(rest.trim().is_empty(), "text after the root: {rest}");
    names
}

fn record(epoch: usize, loss: f64, val: Option<f64>, acc: Option<f64>, val_acc: Option<f64>) -> EpochRecord {
    EpochRecord {
        epoch,
        train_loss: loss,
        train_accuracy: acc,
        val_loss: val,
        val_accuracy: val_acc,
        lr: 0.1,
        batch_size: 32,
        ..Default::default()
    }
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

#[test]
fn full_history_has_two_panels_and_four_curves() {
    let epochs = (1..=20)
        .map(|e| {
            let l = 2.0 / e as f64;
            record(e, l, Some(l * 1.1), Some(1.0 - l / 2.0), Some(0.9 - l / 2.0))
        })
        .collect();
    let svg = history_svg(&History { epochs, best_epoch: Some(20), stopped_early: false });
    assert!(svg.starts_with("<svg"));
    let names = balanced(&svg);
    assert_eq!(count(&names, "polyline"), 4);
    assert!(svg.contains(">Loss<") && svg.contains(">Accuracy<") && svg.contains(">validation<"));
    // Epochs 1..20 get ticks 0, 5, ..., 20.
    assert!(svg.contains(">15</text>") && svg.contains(">20</text>"));
}

#[test]
fn missing_validation_and_accuracy_give_one_panel_one_curve() {
    let epochs = (1..=5).map(|e| record(e, 1.0 / e as f64, None, None, None)).collect();
    let svg = history_svg(&History { epochs, ..Default::default() });
    let names = balanced(&svg);
    assert_eq!(count(&names, "polyline"), 1);
    assert!(!svg.contains("Accuracy") && !svg.contains("validation"));
    assert!(svg.contains(r#"width="480""#));
}

#[test]
fn single_epoch_sparse_validation_and_nan_are_handled() {
    let one = History { epochs: vec![record(1, 0.5, Some(0.6), Some(0.8), None)], ..Default::default() };
    let svg = history_svg(&one);
    let names = balanced(&svg);
    assert_eq!(count(&names, "polyline"), 3);
    assert_eq!(count(&names, "circle"), 3);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));

    let epochs = vec![
        record(1, 1.0, Some(1.0), None, None),
        record(2, f64::NAN, None, None, None),
        record(3, 0.5, Some(0.7), None, None),
    ];
    let svg = history_svg(&History { epochs, ..Default::default() });
    assert_eq!(count(&balanced(&svg), "polyline"), 2);
    assert!(!svg.contains("NaN"));
}

#[test]
fn empty_history_is_still_a_valid_svg() {
    let svg = history_svg(&History::default());
    let names = balanced(&svg);
    assert_eq!(count(&names, "polyline"), 0);
    assert!(svg.contains("no data"));
}

#[test]
fn escaping_and_tick_labels() {
    assert_eq!(escape(r#"<a & "b" 'c'>"#), "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;");
    assert_eq!(nice_step(0.23), 0.2);
    assert_eq!(nice_step(3.4), 5.0);
    assert_eq!(nice_step(80.0), 100.0);
    assert_eq!(axis(0.05, 0.95, false), (0.0, 1.0, 0.2));
    assert_eq!(axis(0.13, 0.87, false), (0.1, 0.9, 0.1));
    assert_eq!(axis(3.0, 3.0, true), (2.0, 4.0, 1.0));
    assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
    assert_eq!(tick_label(-1e-18, 0.1), "0.0");
    assert_eq!(tick_label(25.0, 5.0), "25");
    assert_eq!(tick_label(2e7, 5e6), "2e7");
}

#[test]
fn write_svg_writes_the_document() {
    let dir = std::env::temp_dir().join(format!("wgtrain-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.svg");
    let h = History { epochs: vec![record(1, 0.5, None, None, None)], ..Default::default() };
    write_svg(&path, &h).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), history_svg(&h));
    std::fs::remove_dir_all(&dir).unwrap();
}
