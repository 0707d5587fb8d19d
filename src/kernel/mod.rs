//! `Kernel`: one compute pipeline with the binding list derived from its WGSL entry point, and `Dispatch`:
//! a kernel, its bind group and its grid, recorded into a compute pass as many times as needed.

mod copies;

use std::sync::Arc;

pub use copies::elide_repeated_copies;

use crate::error::{Error, Result};
use crate::gpu::{CompiledEntry, Gpu};
use crate::shaders::Shader;
use crate::texture::Upload;

/// A compute pipeline and the bindings its entry point uses, in ascending order.
#[derive(Debug)]
pub struct Kernel {
    file: String,
    name: &'static str,
    pipeline: wgpu::ComputePipeline,
    bindings: Arc<[u32]>,
    written: Arc<[u32]>,
}

impl Gpu {
    /// The compiled kernel for `entry` of `shader`, built on first use and cached.
    pub fn kernel(&self, shader: &Shader, entry: &'static str) -> Result<Arc<Kernel>> {
        self.kernel_with(shader, entry, &[])
    }

    /// The kernel for `entry` with its `override` constants set to `constants`, compiled on first use.
    pub fn kernel_with(
        &self,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<Kernel>> {
        let CompiledEntry { pipeline, bindings, written } = self.compiled_entry(shader, entry, constants)?;
        Ok(Arc::new(Kernel { file: shader.file.to_string(), name: entry, pipeline, bindings, written }))
    }
}

impl Kernel {
    /// The entry point's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The shader file (or generated variant) the entry point comes from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The binding numbers the entry point uses, ascending; `bind` takes its resources in this order.
    pub fn bindings(&self) -> &[u32] {
        &self.bindings
    }

    /// A bind group with `resources[i]` at the i-th used binding.
    pub fn bind(&self, gpu: &Gpu, resources: &[wgpu::BindingResource<'_>]) -> Result<wgpu::BindGroup> {
        if resources.len() != self.bindings.len() {
            return Err(Error::Shape {
                op: "bind",
                detail: format!("{} uses {} bindings, {} given", self.name, self.bindings.len(), resources.len()),
            });
        }
        let entries: Vec<wgpu::BindGroupEntry> = self
            .bindings
            .iter()
            .zip(resources)
            .map(|(&binding, resource)| wgpu::BindGroupEntry { binding, resource: resource.clone() })
            .collect();
        let layout = self.pipeline.get_bind_group_layout(0);
        let group = gpu.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.name),
            layout: &layout,
            entries: &entries,
        });
        gpu.check()?;
        Ok(group)
    }
}

/// A kernel launch ready to record: pipeline, bind group and grid, built once and reused every step.
#[derive(Debug)]
pub struct Dispatch {
    kernel: Arc<Kernel>,
    group: wgpu::BindGroup,
    grid: (u32, u32),
    /// Workgroups along z: the model index of a model-batched launch (1 otherwise).
    models: u32,
    uploads: Vec<Upload>,
    /// The resources of `group`, in binding order, kept to rebind a texture (see [`elide_repeated_copies`]).
    bound: Vec<Bound>,
}

/// An owned binding resource.
#[derive(Clone, Debug)]
enum Bound {
    Buffer { buffer: wgpu::Buffer, offset: u64, size: Option<wgpu::BufferSize> },
    Texture(wgpu::TextureView),
    Other,
}

impl Bound {
    fn new(resource: &wgpu::BindingResource<'_>) -> Self {
        match resource {
            wgpu::BindingResource::Buffer(b) => {
                Bound::Buffer { buffer: b.buffer.clone(), offset: b.offset, size: b.size }
            }
            wgpu::BindingResource::TextureView(v) => Bound::Texture((*v).clone()),
            _ => Bound::Other,
        }
    }
}

impl Dispatch {
    /// Binds `resources` to `kernel` and launches `workgroups` workgroups, spread over a 2-D grid.
    pub fn new(
        gpu: &Gpu,
        kernel: Arc<Kernel>,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: u64,
    ) -> Result<Self> {
        let grid = grid(gpu, kernel.name, workgroups)?;
        let group = kernel.bind(gpu, resources)?;
        let bound = resources.iter().map(Bound::new).collect();
        Ok(Dispatch { kernel, group, grid, models: 1, uploads: Vec::new(), bound })
    }

    /// Like [`Dispatch::with_uploads`], repeated for `models` models: the grid's z index is the model (the
    /// model-batched kernels read it as `workgroup_id.z` and offset their operands by per-model strides).
    pub fn batched(
        gpu: &Gpu,
        kernel: Arc<Kernel>,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: u64,
        models: usize,
        uploads: Vec<Upload>,
    ) -> Result<Self> {
        let max = gpu.limits().max_compute_workgroups_per_dimension;
        let z = u32::try_from(models).ok().filter(|&z| z >= 1 && z <= max).ok_or_else(|| Error::Limit {
            what: format!("{} ({models} models)", kernel.name),
            limit: "max_compute_workgroups_per_dimension",
            needed: models as u64,
            max: u64::from(max),
        })?;
        Ok(Dispatch { models: z, ..Self::with_uploads(gpu, kernel, resources, workgroups, uploads)? })
    }

    /// Like [`Dispatch::new`], with texture operands refreshed from their buffers before every launch.
    pub fn with_uploads(
        gpu: &Gpu,
        kernel: Arc<Kernel>,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: u64,
        uploads: Vec<Upload>,
    ) -> Result<Self> {
        Ok(Dispatch { uploads, ..Self::new(gpu, kernel, resources, workgroups)? })
    }

    /// Whether this launch reads texture copies of its inputs (refreshed before every launch).
    pub fn reads_textures(&self) -> bool {
        !self.uploads.is_empty()
    }

    /// The number of buffer-to-texture copies recorded before this launch.
    pub fn copies(&self) -> usize {
        self.uploads.iter().map(Upload::copies).sum()
    }

    /// The kernel's entry point name.
    pub fn name(&self) -> &'static str {
        self.kernel.name
    }

    /// The shader file of the kernel, or the generated matmul variant's name.
    pub fn file(&self) -> &str {
        &self.kernel.file
    }

    /// Records the launch into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.kernel.pipeline);
        pass.set_bind_group(0, &self.group, &[]);
        pass.dispatch_workgroups(self.grid.0, self.grid.1, self.models);
    }
}

/// Splits `workgroups` over x and y so neither exceeds the adapter's per-dimension limit (65,535 on most);
/// kernels recover the flat index as x + y·nx and guard the tail.
fn grid(gpu: &Gpu, what: &str, workgroups: u64) -> Result<(u32, u32)> {
    let max = u64::from(gpu.limits().max_compute_workgroups_per_dimension).max(1);
    let total = workgroups.max(1);
    let x = total.min(max);
    let y = total.div_ceil(x);
    if y > max {
        return Err(Error::Limit {
            what: format!("{what} ({workgroups} workgroups)"),
            limit: "max_compute_workgroups_per_dimension²",
            needed: workgroups,
            max: max * max,
        });
    }
    Ok((x as u32, y as u32))
}

impl Gpu {
    /// Records `dispatches` into one compute pass, submits once, and waits for the result (the blocking form of
    /// [`Gpu::run_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run(&self, dispatches: &[&Dispatch]) -> Result<()> {
        pollster::block_on(self.run_async(dispatches))
    }

    /// Runs each of `plan`'s launches alone `repeats` times (after one untimed run) and returns (shader file, entry
    /// point, median milliseconds) in plan order: a diagnostic, since it waits after every launch.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time_each(&self, plan: &[Dispatch], repeats: usize) -> Result<Vec<(String, &'static str, f64)>> {
        let mut out = Vec::with_capacity(plan.len());
        for d in plan {
            self.run(&[d])?;
            let mut times: Vec<f64> = (0..repeats.max(1))
                .map(|_| {
                    let t = std::time::Instant::now();
                    self.run(&[d]).map(|_| t.elapsed().as_secs_f64() * 1e3)
                })
                .collect::<Result<_>>()?;
            times.sort_by(f64::total_cmp);
            out.push((d.file().to_string(), d.name(), times[times.len() / 2]));
        }
        Ok(out)
    }

    /// Records `dispatches` into one compute pass, submits once, and resolves when the work has finished.
    pub async fn run_async(&self, dispatches: &[&Dispatch]) -> Result<()> {
        self.submit(dispatches);
        self.wait_async().await
    }

    /// Records `dispatches` into one compute pass and submits it without waiting.
    pub fn submit(&self, dispatches: &[&Dispatch]) {
        self.submit_iter(dispatches.iter().copied());
    }

    /// Like [`Gpu::submit`] for an owned plan, without collecting references every step.
    pub fn submit_all(&self, dispatches: &[Dispatch]) {
        self.submit_iter(dispatches.iter());
    }

    fn submit_iter<'a>(&self, dispatches: impl Iterator<Item = &'a Dispatch>) {
        let mut encoder =
            self.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("wgtrain") });
        // Copies cannot be recorded inside a compute pass: a launch with uploads closes the pass, copies, and
        // opens the next one. It is still one command buffer and one submission.
        let mut pass: Option<wgpu::ComputePass<'static>> = None;
        for d in dispatches {
            if !d.uploads.is_empty() {
                drop(pass.take());
                for u in &d.uploads {
                    u.record(&mut encoder);
                }
            }
            let p = pass.get_or_insert_with(|| {
                encoder
                    .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("wgtrain"), timestamp_writes: None })
                    .forget_lifetime()
            });
            d.record(p);
        }
        drop(pass);
        self.queue().submit(Some(encoder.finish()));
    }
}
