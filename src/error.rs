//! The one error type of the crate: every fallible public function returns [`Result`].

use std::path::PathBuf;

/// Everything that can go wrong in wgtrain, with the context a user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No GPU adapter matched; the message says how to get one.
    #[error("no GPU adapter found{filter}. On Linux without a GPU install Mesa's software Vulkan driver (lavapipe): `apt-get install -y mesa-vulkan-drivers libvulkan1`")]
    NoAdapter {
        /// A description of the WGTRAIN_BACKEND / WGTRAIN_ADAPTER filter in force, or empty.
        filter: String,
    },
    /// An environment variable held a value wgtrain does not understand.
    #[error("environment variable {name}={value:?} is not valid: {reason}")]
    BadEnv {
        /// Variable name.
        name: &'static str,
        /// The value found.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The adapter refused to create a device.
    #[error("could not create a device on adapter {adapter}: {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// The driver's reason.
        reason: String,
    },
    /// The device reported a validation error, ran out of memory, or was lost.
    #[error("GPU device error ({kind}): {message}")]
    Device {
        /// "validation", "out of memory", "device lost", "internal", "timeout" or "map".
        kind: &'static str,
        /// The driver's message.
        message: String,
    },
    /// A size exceeds one of the adapter's limits.
    #[error("{what} needs {needed} but the adapter's limit {limit} is {max}")]
    Limit {
        /// What was being created.
        what: String,
        /// The limit's wgpu name (e.g. max_storage_buffer_binding_size).
        limit: &'static str,
        /// The amount needed.
        needed: u64,
        /// The adapter's maximum.
        max: u64,
    },
    /// Two shapes that must agree do not.
    #[error("shape mismatch in {op}: {detail}")]
    Shape {
        /// The operation that checked the shapes.
        op: &'static str,
        /// Which dimensions disagree, with their values.
        detail: String,
    },
    /// A configuration value is out of range; names the field.
    #[error("invalid value for {field}: {reason}")]
    Config {
        /// The field or option name as the user wrote it.
        field: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file's contents are malformed; names the file and the place (line, field, tensor).
    #[error("{}{}: {reason}", path.display(), location.as_deref().map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line, column, tensor or key, when known.
        location: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// Training produced a NaN or infinite loss.
    #[error("training diverged at epoch {epoch}, step {step} (learning rate {lr:e}): the loss is {loss}")]
    Diverged {
        /// Epoch (from 1).
        epoch: usize,
        /// Optimizer step (from 1).
        step: u64,
        /// The learning rate in force.
        lr: f64,
        /// The non-finite loss value.
        loss: f32,
    },
    /// Training was interrupted (Ctrl-C) between steps.
    #[error("training interrupted at epoch {epoch}, step {step}")]
    Interrupted {
        /// Epoch (from 1).
        epoch: usize,
        /// Optimizer step (from 1).
        step: u64,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Config`] for `field`.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config { field: field.into(), reason: reason.into() }
    }

    /// A [`Error::Parse`] for `path` at an optional location.
    pub fn parse(path: impl Into<PathBuf>, location: Option<String>, reason: impl Into<String>) -> Self {
        Error::Parse { path: path.into(), location, reason: reason.into() }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
