//! `train`'s optimizer options read from the library's tables: their help texts and defaults, and the
//! configuration they give. Each hyperparameter of `wgtrain::optim::HYPERPARAMETERS` is an option of the same
//! name with dashes, except `weight_decay`, which is `--l2` (torch's coupled penalty) or `--weight-decay` (the
//! decoupled decay) depending on the optimizer.

use wgtrain::optim::{HyperValue, HYPERPARAMETERS, OPTIMIZERS};
use wgtrain::{Error, OptimizerConfig, OptimizerKind, Result};

/// The optimizer options as given on the command line or in the config file.
pub struct Given<'a> {
    /// --optimizer.
    pub optimizer: Option<&'a str>,
    /// --lr.
    pub lr: Option<f64>,
    /// Each hyperparameter option that was given, under the library's field name.
    pub hyper: Vec<(&'static str, HyperValue)>,
    /// --l1.
    pub l1: Option<f64>,
    /// --l2 (coupled weight decay).
    pub l2: Option<f64>,
    /// --weight-decay (decoupled weight decay).
    pub weight_decay: Option<f64>,
    /// --clip-norm.
    pub clip_norm: Option<f64>,
}

/// The optimizer configuration: the table's defaults where an option is absent, every value checked.
pub fn optimizer(given: Given<'_>) -> Result<OptimizerConfig> {
    let kind = given.optimizer.map_or(Ok(OptimizerKind::Adam), OptimizerKind::parse).map_err(|e| match e {
        Error::Config { reason, .. } => Error::config("--optimizer", reason),
        other => other,
    })?;
    let mut c = OptimizerConfig::new(kind, given.lr.unwrap_or_else(|| kind.default_lr()));
    // The library's rule (OptimizerConfig::validate), also for an option given at its default value.
    for &(field, value) in &given.hyper {
        if !OptimizerConfig::applies(kind, field) {
            let owners = OptimizerConfig::kinds_with(field).join(", ");
            return Err(Error::config(
                option(field),
                format!("does not apply to {} (it is a hyperparameter of {owners})", kind.name()),
            ));
        }
        c.set(field, value).map_err(|e| named(e, field))?;
    }
    let decoupled = kind.spec().decoupled_decay;
    let (used, other) = if decoupled { (given.weight_decay, given.l2) } else { (given.l2, given.weight_decay) };
    if other.is_some() {
        let (wrong, right) = if decoupled { ("--l2", "--weight-decay") } else { ("--weight-decay", "--l2") };
        let why = if decoupled { "decays weights decoupled" } else { "takes a coupled L2 penalty" };
        return Err(Error::config(wrong, format!("{} {why}; use {right}", kind.name())));
    }
    c.weight_decay = used.unwrap_or(c.weight_decay);
    c.l1 = given.l1.unwrap_or(0.0);
    c.clip_norm = given.clip_norm;
    c.validate().map_err(|e| match e {
        Error::Config { field, reason } => Error::config(option(&field), reason),
        other => other,
    })?;
    Ok(c)
}

fn named(e: Error, field: &str) -> Error {
    match e {
        Error::Config { reason, .. } => Error::config(option(field), reason),
        other => other,
    }
}

/// The option that sets the library's field `field`.
fn option(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}

/// "sgd 0.001, adagrad 0.01, …": each optimizer that has `field` with its default.
fn defaults(field: &str, decoupled: Option<bool>) -> String {
    let rows = OPTIMIZERS.iter().filter(|o| decoupled.is_none_or(|d| o.decoupled_decay == d));
    let each: Vec<String> = rows.filter_map(|o| o.hyper(field).map(|h| format!("{} {}", o.name, h.default))).collect();
    each.join(", ")
}

/// Help of --optimizer.
pub fn optimizer_help() -> String {
    format!("{} [default: adam]", OptimizerKind::names())
}

/// Help of --lr.
pub fn lr_help() -> String {
    let each: Vec<String> = OPTIMIZERS.iter().map(|o| format!("{} {}", o.name, o.lr)).collect();
    format!("Learning rate [default: torch's for the optimizer: {}]", each.join(", "))
}

/// Help of the option for the hyperparameter `field`: what it does, and which optimizers have it with what default.
pub fn hyper_help(field: &str) -> String {
    let doc = HYPERPARAMETERS.iter().find(|f| f.name == field).map_or("", |f| f.doc);
    format!("{doc} [default: {}]", defaults(field, None))
}

/// Help of --l2.
pub fn l2_help() -> String {
    format!(
        "L2 penalty, coupled (torch's weight_decay): λ·θ added to the gradient [default: {}]",
        defaults("weight_decay", Some(false))
    )
}

/// Help of --weight-decay.
pub fn weight_decay_help() -> String {
    format!(
        "Decoupled weight decay: θ *= 1 − lr·λ before the update [default: {}]",
        defaults("weight_decay", Some(true))
    )
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        opts: crate::options::TrainOptions,
    }

    /// A hyperparameter the library adds is an option here too (weight_decay is --l2 or --weight-decay).
    #[test]
    fn every_hyperparameter_is_an_option_with_the_tables_help() {
        let cmd = Args::command();
        for f in HYPERPARAMETERS.iter().filter(|f| f.name != "weight_decay") {
            let long = f.name.replace('_', "-");
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long.as_str()));
            let help = arg.and_then(|a| a.get_help()).map(|h| h.to_string()).unwrap_or_default();
            assert!(help.starts_with(f.doc), "--{long}: {help:?}");
        }
        let names = cmd.get_arguments().find(|a| a.get_long() == Some("optimizer")).unwrap().get_help().unwrap();
        assert!(OPTIMIZERS.iter().all(|o| names.to_string().contains(o.name)), "{names}");
    }

    #[test]
    fn defaults_come_from_the_table() {
        let given = |optimizer| Given {
            optimizer,
            lr: None,
            hyper: Vec::new(),
            l1: None,
            l2: None,
            weight_decay: None,
            clip_norm: None,
        };
        for o in OPTIMIZERS {
            let c = optimizer(given(Some(o.name))).unwrap();
            assert_eq!(c, OptimizerConfig::new(o.kind, o.lr), "{}", o.name);
        }
        assert_eq!(optimizer(given(None)).unwrap().kind, OptimizerKind::Adam);
    }
}
