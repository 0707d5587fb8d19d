//! The subcommands: each reads its inputs completely and checks its output paths before any GPU work, so bad
//! input costs one message and leaves nothing behind.

use wgtrain::{list_adapters, Gpu, Result};

use crate::options::TrainOptions;
use crate::train_command;

/// `wgtrain train`.
pub fn train(opts: TrainOptions) -> Result<()> {
    let prepared = train_command::prepare(opts)?;
    prepared.print_notes();
    let gpu = Gpu::new()?;
    prepared.print_header(&gpu);
    let (mut trainer, train_data, val_data) = prepared.start(&gpu)?;
    prepared.run(&mut trainer, &train_data, val_data.as_ref())?;
    prepared.finish(&trainer)
}

/// `wgtrain devices`.
pub fn devices() -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        outln!("no adapters found");
    }
    for a in &adapters {
        outln!("{} | {} | {} | driver {}", a.name, a.backend, a.device_type, a.driver);
    }
    let chosen = Gpu::new()?;
    outln!("wgtrain uses: {}", chosen.adapter());
    // WGTRAIN_LIMITS=webgpu asks for WebGPU's defaults only; otherwise everything the adapter offers.
    let l = chosen.limits();
    outln!(
        "limits: {} (storage binding {} MiB, {} storage buffers per stage, {} invocations per workgroup, {} KiB workgroup memory)",
        chosen.limits_mode().describe(),
        l.max_storage_buffer_binding_size >> 20,
        l.max_storage_buffers_per_shader_stage,
        l.max_compute_invocations_per_workgroup,
        l.max_compute_workgroup_storage_size >> 10,
    );
    Ok(())
}
