//! Adapter and device selection: the only place that sets wgpu up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
#[cfg(not(target_arch = "wasm32"))]
use std::time::Duration;

use crate::error::{Error, Result};
use crate::shaders::Shader;

/// How long a wait on the device may take before it is reported as a hang instead of blocking forever.
#[cfg(not(target_arch = "wasm32"))]
const WAIT_TIMEOUT: Duration = Duration::from_secs(600);

/// What wgtrain reports about the adapter it runs on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The backend: Vulkan, Metal, Dx12 or Gl.
    pub backend: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub device_type: String,
    /// The driver's name and version.
    pub driver: String,
}

impl AdapterSummary {
    fn from_info(info: &wgpu::AdapterInfo) -> Self {
        let driver = format!("{} {}", info.driver, info.driver_info).trim().to_string();
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver,
        }
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {}, driver {})", self.name, self.backend, self.device_type, self.driver)
    }
}

/// Which adapter to use and how to pick kernels; `from_env` reads the `WGTRAIN_*` variables.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Restrict to one backend (vulkan, metal, dx12, gl); None = all.
    pub backend: Option<wgpu::Backends>,
    /// A case-insensitive substring the adapter's name must contain.
    pub adapter: Option<String>,
    /// How kernels read their large inputs; None = chosen by the adapter type (see [`KernelFamily`]).
    pub kernels: Option<KernelFamily>,
    /// One matmul config name (`matmul_wgsl::MatmulConfig::name`) for every product it can compute, instead of
    /// tuning (`WGTRAIN_MATMUL`); for tests and for comparing variants.
    pub matmul: Option<String>,
    /// Whether matmul variants are tuned by timing candidates on this device (`WGTRAIN_TUNE=off` turns it off:
    /// the heuristic default is used).
    pub tune: bool,
    /// Whether reductions use subgroup operations where the adapter has wgpu's SUBGROUP feature
    /// (`WGTRAIN_SUBGROUPS=off` keeps the workgroup-memory paths).
    pub subgroups: bool,
    /// Which limits the device is requested with (`WGTRAIN_LIMITS=adapter|webgpu`).
    pub limits: LimitsMode,
    /// Whether the device asks for wgpu's SHADER_F16 where the adapter has it, for half-precision training
    /// (`WGTRAIN_F16=off` leaves it out, as on an adapter without it).
    pub f16: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            backend: None,
            adapter: None,
            kernels: None,
            matmul: None,
            tune: true,
            limits: LimitsMode::Adapter,
            subgroups: true,
            f16: true,
        }
    }
}

/// The limits a device is requested with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LimitsMode {
    /// Everything the adapter offers (the default): the binding-size limits decide how large a dataset fits.
    #[default]
    Adapter,
    /// Only WebGPU's defaults (`wgpu::Limits::default()`: 128 MiB storage bindings, 8 storage buffers per stage,
    /// 256 invocations per workgroup, 16 KiB workgroup memory), as a browser grants without asking; lowered further
    /// where the adapter offers less (GL's downlevel limits). Proves the kernels run within what any WebGPU
    /// implementation must offer.
    WebGpu,
}

impl LimitsMode {
    /// The name `WGTRAIN_LIMITS` takes for this mode.
    pub fn name(self) -> &'static str {
        match self {
            LimitsMode::Adapter => "adapter",
            LimitsMode::WebGpu => "webgpu",
        }
    }

    /// How `wgtrain devices` describes the mode.
    pub fn describe(self) -> &'static str {
        match self {
            LimitsMode::Adapter => "adapter",
            LimitsMode::WebGpu => "webgpu default",
        }
    }

    /// The limits to request from an adapter offering `offered`.
    pub fn request(self, offered: &wgpu::Limits) -> wgpu::Limits {
        match self {
            LimitsMode::Adapter => offered.clone(),
            LimitsMode::WebGpu => wgpu::Limits::default().or_worse_values_from(offered),
        }
    }
}

/// How the matmul, optimizer and gather kernels read their large inputs: from textures, refreshed by a copy before
/// each launch (fast on CPU drivers such as lavapipe, where every storage-buffer load is a loop over the SIMD lanes:
/// about 13 ns per vec4 against 1.3 ns for a texel fetch, measured on our CI's 2-core EPYC), or straight from the
/// storage buffers (the choice for GPUs). `WGTRAIN_KERNELS=texture|buffer` overrides the adapter-based default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFamily {
    /// Texture inputs where the shape and alignment allow, else the buffer kernels.
    Texture,
    /// Storage-buffer inputs only.
    Buffer,
}

impl KernelFamily {
    /// The name `WGTRAIN_KERNELS` takes for this family.
    pub fn name(self) -> &'static str {
        match self {
            KernelFamily::Texture => "texture",
            KernelFamily::Buffer => "buffer",
        }
    }

    /// The default for an adapter: textures on CPU adapters, storage buffers on GPUs.
    pub fn for_device_type(t: wgpu::DeviceType) -> Self {
        if t == wgpu::DeviceType::Cpu {
            KernelFamily::Texture
        } else {
            KernelFamily::Buffer
        }
    }
}

impl GpuOptions {
    /// Options from `WGTRAIN_BACKEND` (vulkan, metal, dx12, gl) and `WGTRAIN_ADAPTER` (a name substring).
    pub fn from_env() -> Result<Self> {
        let backend = match std::env::var("WGTRAIN_BACKEND") {
            Ok(v) if !v.trim().is_empty() => Some(parse_backend(&v)?),
            _ => None,
        };
        let adapter = std::env::var("WGTRAIN_ADAPTER").ok().filter(|s| !s.trim().is_empty());
        let kernels = match std::env::var("WGTRAIN_KERNELS") {
            Ok(v) if !v.trim().is_empty() => Some(parse_kernel_family(&v)?),
            _ => None,
        };
        let matmul = std::env::var("WGTRAIN_MATMUL").ok().filter(|s| !s.trim().is_empty());
        let tune = env_switch("WGTRAIN_TUNE")?;
        let subgroups = env_switch("WGTRAIN_SUBGROUPS")?;
        let limits = match std::env::var("WGTRAIN_LIMITS") {
            Ok(v) if !v.trim().is_empty() => parse_limits_mode(&v)?,
            _ => LimitsMode::Adapter,
        };
        let f16 = env_switch("WGTRAIN_F16")?;
        Ok(GpuOptions { backend, adapter, kernels, matmul, tune, limits, subgroups, f16 })
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(b) = self.backend {
            parts.push(format!("backend {b:?}"));
        }
        if let Some(a) = &self.adapter {
            parts.push(format!("name containing {a:?}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" with {} (WGTRAIN_BACKEND / WGTRAIN_ADAPTER)", parts.join(" and "))
        }
    }
}

/// An on/off variable, on when unset.
fn env_switch(name: &'static str) -> Result<bool> {
    match std::env::var(name) {
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "" | "on" | "1" => Ok(true),
            "off" | "0" => Ok(false),
            _ => Err(Error::BadEnv { name, value: v, reason: "expected on or off".into() }),
        },
        Err(_) => Ok(true),
    }
}

fn parse_kernel_family(v: &str) -> Result<KernelFamily> {
    let v_lower = v.trim().to_ascii_lowercase();
    match [KernelFamily::Texture, KernelFamily::Buffer].into_iter().find(|f| f.name() == v_lower) {
        Some(family) => Ok(family),
        None => Err(Error::BadEnv {
            name: "WGTRAIN_KERNELS",
            value: v.to_string(),
            reason: "expected texture or buffer".into(),
        }),
    }
}

fn parse_limits_mode(v: &str) -> Result<LimitsMode> {
    let v_lower = v.trim().to_ascii_lowercase();
    match [LimitsMode::Adapter, LimitsMode::WebGpu].into_iter().find(|m| m.name() == v_lower) {
        Some(mode) => Ok(mode),
        None => Err(Error::BadEnv {
            name: "WGTRAIN_LIMITS",
            value: v.to_string(),
            reason: "expected adapter or webgpu".into(),
        }),
    }
}

fn parse_backend(v: &str) -> Result<wgpu::Backends> {
    match v.trim().to_ascii_lowercase().as_str() {
        "vulkan" | "vk" => Ok(wgpu::Backends::VULKAN),
        "metal" => Ok(wgpu::Backends::METAL),
        "dx12" | "d3d12" => Ok(wgpu::Backends::DX12),
        "gl" | "gles" | "opengl" => Ok(wgpu::Backends::GL),
        _ => Err(Error::BadEnv {
            name: "WGTRAIN_BACKEND",
            value: v.to_string(),
            reason: "expected one of vulkan, metal, dx12, gl".into(),
        }),
    }
}

/// Held while an instance is created and its adapters listed: Mesa's EGL set-up is not safe to run on several
/// threads at once (tests creating devices in parallel saw "eglInitialize: DRI2: failed to load driver"). An async
/// lock, since the listing is awaited (in a browser it resolves a promise).
static SETUP: futures::lock::Mutex<()> = futures::lock::Mutex::new(());

/// The adapters of a fresh instance for `backends`, listed under [`SETUP`].
async fn adapters(backends: Option<wgpu::Backends>) -> Vec<wgpu::Adapter> {
    let _guard = SETUP.lock().await;
    let inst = instance(backends);
    inst.enumerate_adapters(wgpu::Backends::all()).await
}

fn instance(backends: Option<wgpu::Backends>) -> wgpu::Instance {
    // wgpu's own variables apply (`WGPU_VALIDATION=1 WGPU_DEBUG=1` turns on the Khronos validation layer and sends
    // its messages to the `log` crate); `WGTRAIN_BACKEND` wins over `WGPU_BACKEND`.
    let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    let backends = backends.unwrap_or(desc.backends);
    wgpu::Instance::new(wgpu::InstanceDescriptor { backends, ..desc })
}

/// Shader name, entry point and pipeline-overridable constants (name, value bits) of a cached pipeline.
type PipelineKey = (String, &'static str, Vec<(&'static str, u64)>);

/// A compiled entry point and the bindings of group 0 it uses, ascending.
#[derive(Clone, Debug)]
pub struct CompiledEntry {
    /// The pipeline, with its bind-group layout derived from the shader.
    pub pipeline: wgpu::ComputePipeline,
    /// The binding numbers the entry point statically uses.
    pub bindings: Arc<[u32]>,
    /// Those of them it writes (stores or atomics): what a launch changes.
    pub written: Arc<[u32]>,
}

/// Values for a shader's `override` constants, by name: pipelines specialised at creation, so that a branch on
/// them is folded away by the driver's compiler (CPU drivers execute both sides of every branch under a mask).
pub type Constants = Vec<(&'static str, f64)>;

/// The first error the device reported outside an explicit check, kept until the next [`Gpu::check`].
type ErrorSlot = Arc<Mutex<Option<Error>>>;

/// A device and queue on one adapter, with the pipeline cache.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    limits: wgpu::Limits,
    limits_mode: LimitsMode,
    errors: ErrorSlot,
    pipelines: Mutex<HashMap<PipelineKey, CompiledEntry>>,
    modules: Mutex<HashMap<String, wgpu::ShaderModule>>,
    tuned: Mutex<std::collections::BTreeMap<String, String>>,
    matmul: Option<String>,
    tune: bool,
    tuning_loaded: std::sync::Once,
    subgroups: bool,
    placeholders: [wgpu::Buffer; 2],
    placeholder_texture: wgpu::TextureView,
    pipeline_cache: Option<(wgpu::PipelineCache, std::path::PathBuf)>,
    family: KernelFamily,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.summary).finish_non_exhaustive()
    }
}

/// Every adapter wgpu can see, in the order it lists them (blocking form of [`list_adapters_async`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn list_adapters() -> Vec<AdapterSummary> {
    pollster::block_on(list_adapters_async())
}

/// Every adapter wgpu can see, in the order it lists them (in a browser: the one it grants).
pub async fn list_adapters_async() -> Vec<AdapterSummary> {
    adapters(None).await.iter().map(|a| AdapterSummary::from_info(&a.get_info())).collect()
}

impl Gpu {
    /// A device on the adapter chosen by the environment (see [`GpuOptions::from_env`]), headless; blocks until
    /// the device is ready (the blocking form of [`Gpu::request`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Self> {
        Self::with_options(&GpuOptions::from_env()?)
    }

    /// Like [`Gpu::request`], blocking until the device is ready.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_options(opts: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::request(opts))
    }

    /// A device on the first adapter matching `opts`, preferring discrete GPUs, then integrated, then the rest.
    pub async fn request(opts: &GpuOptions) -> Result<Self> {
        let mut adapters: Vec<wgpu::Adapter> = adapters(opts.backend)
            .await
            .into_iter()
            .filter(|a| {
                let info = a.get_info();
                let name_ok =
                    opts.adapter.as_ref().is_none_or(|want| info.name.to_lowercase().contains(&want.to_lowercase()));
                let backend_ok = opts.backend.is_none_or(|b| b.contains(info.backend.into()));
                name_ok && backend_ok
            })
            .collect();
        adapters.sort_by_key(|a| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        });
        let adapter = adapters.into_iter().next().ok_or_else(|| Error::NoAdapter { filter: opts.describe() })?;
        let family = opts.kernels.unwrap_or_else(|| KernelFamily::for_device_type(adapter.get_info().device_type));
        Self::from_adapter(&adapter, family, opts).await
    }

    /// The device on `adapter`: the features and limits asked for, error capture, the placeholder bindings and
    /// the on-disk pipeline cache.
    async fn from_adapter(adapter: &wgpu::Adapter, family: KernelFamily, opts: &GpuOptions) -> Result<Self> {
        let summary = AdapterSummary::from_info(&adapter.get_info());
        let limits = opts.limits.request(&adapter.limits());
        let cache_path = pipeline_cache_path(&adapter.get_info());
        let (features, subgroups) = wanted_features(adapter, cache_path.is_some(), opts);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgtrain"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::RequestDevice { adapter: summary.name.clone(), reason: e.to_string() })?;
        let errors = capture_errors(&device);
        log::info!("wgtrain on {summary}");
        let (placeholders, placeholder_texture) = placeholders(&device);
        let pipeline_cache = cache_path
            .filter(|_| features.contains(wgpu::Features::PIPELINE_CACHE))
            .map(|path| open_pipeline_cache(&device, path));
        Ok(Gpu {
            device,
            queue,
            summary,
            limits,
            limits_mode: opts.limits,
            errors,
            pipelines: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
            tuned: Mutex::new(std::collections::BTreeMap::new()),
            matmul: opts.matmul.clone(),
            // Timing candidates waits on each launch, which a browser cannot do: there the heuristic default runs.
            tune: opts.tune && cfg!(not(target_arch = "wasm32")),
            tuning_loaded: std::sync::Once::new(),
            subgroups,
            placeholders,
            placeholder_texture,
            pipeline_cache,
            family,
        })
    }

    /// How this device's kernels read their large inputs.
    pub fn kernel_family(&self) -> KernelFamily {
        self.family
    }

    /// The matmul config forced for every product (`GpuOptions::matmul`), if any.
    pub fn forced_matmul(&self) -> Option<&str> {
        self.matmul.as_deref()
    }

    /// Whether the device was created with the SUBGROUP feature, so reductions use subgroup operations.
    pub fn has_subgroups(&self) -> bool {
        self.subgroups
    }

    /// Whether the device was created with SHADER_F16, so f16 kernels (`matmul_wgsl::Element::F16`) compile.
    pub fn has_shader_f16(&self) -> bool {
        self.device.features().contains(wgpu::Features::SHADER_F16)
    }

    /// Whether matmul variants are tuned on this device (`GpuOptions::tune`; never in a browser).
    pub fn tuning_enabled(&self) -> bool {
        self.tune
    }

    /// The adapter this device runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The limits the device was created with.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Whether the driver takes minutes to compile a kernel with workgroup barriers inside a loop: Mesa's llvmpipe
    /// behind GL (measured with Mesa 22.3.6: the workgroup-tiled matmul did not finish compiling within 5 minutes, in
    /// LLVM's coroutine split; the same kernels take seconds through lavapipe's Vulkan). The tuner then leaves the
    /// workgroup-tiled matmul out.
    pub fn slow_barrier_compiles(&self) -> bool {
        self.summary.backend == "Gl" && self.summary.device_type == "Cpu"
    }

    /// Which limits the device was requested with.
    pub fn limits_mode(&self) -> LimitsMode {
        self.limits_mode
    }

    /// The wgpu device, for callers that add their own work.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// A small buffer to bind where a kernel declares an input this launch does not use.
    pub fn unused_input(&self) -> wgpu::BindingResource<'_> {
        self.placeholders[0].as_entire_binding()
    }

    /// A 1×1 texture to bind where a kernel declares a texture input this launch reads from a buffer instead.
    pub fn unused_texture(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::TextureView(&self.placeholder_texture)
    }

    /// A small buffer to bind where a kernel declares an output this launch does not use.
    pub fn unused_output(&self) -> wgpu::BindingResource<'_> {
        self.placeholders[1].as_entire_binding()
    }

    /// The pipeline cache compiled pipelines go through, where the backend has one (Vulkan).
    pub(crate) fn pipeline_cache(&self) -> Option<&wgpu::PipelineCache> {
        self.pipeline_cache.as_ref().map(|(c, _)| c)
    }

    /// Writes the driver's compiled pipelines to disk so the next process starts faster; failures only log,
    /// since the cache is an optimisation.
    pub fn save_pipeline_cache(&self) {
        // A browser's device has no pipeline cache to save.
        #[cfg(not(target_arch = "wasm32"))]
        if let Some((cache, path)) = &self.pipeline_cache {
            if let Some(data) = cache.get_data() {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(e) = crate::internal::atomic_file::write_atomic(path, &data) {
                    log::warn!("could not write the pipeline cache: {e}");
                }
            }
        }
    }

    /// Compiles `entries` (shader, entry point, constants) on several threads at once, so the first step does not
    /// wait on the driver's shader compiler one pipeline after another. In a browser, one after the other: there
    /// are no threads, and the browser compiles pipelines in the background anyway.
    pub fn precompile(&self, entries: &[(Shader, &'static str, Constants)]) -> Result<()> {
        // Each module once, up front, so the threads do not parse the same source twice.
        for (shader, _, _) in entries {
            self.module(shader)?;
        }
        self.compile_entries(entries)
    }

    #[cfg(target_arch = "wasm32")]
    fn compile_entries(&self, entries: &[(Shader, &'static str, Constants)]) -> Result<()> {
        entries
            .iter()
            .try_for_each(|(shader, entry, constants)| self.compiled_entry(shader, entry, constants).map(drop))
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn compile_entries(&self, entries: &[(Shader, &'static str, Constants)]) -> Result<()> {
        // A shared queue rather than fixed chunks: the kernels differ in cost by a factor of fifty.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, entries.len().max(1));
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((shader, entry, constants)) = entries.get(i) else { return Ok(()) };
                        self.compiled_entry(shader, entry, constants)?;
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Device { kind: "internal", message: "a compile thread panicked".into() })
                })
            })
        })
    }

    /// Returns the first device error (validation, out of memory, device lost) reported since the last check.
    pub fn check(&self) -> Result<()> {
        match self.errors.lock() {
            Ok(mut slot) => slot.take().map_or(Ok(()), Err),
            Err(_) => Err(Error::Device { kind: "internal", message: "error slot poisoned".into() }),
        }
    }

    /// Blocks until all submitted work has finished, then reports any device error (the blocking form of
    /// [`Gpu::wait_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(&self) -> Result<()> {
        pollster::block_on(self.wait_async())
    }

    /// Resolves once all submitted work has finished, then reports any device error.
    pub async fn wait_async(&self) -> Result<()> {
        let (done, finished) = futures::channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = done.send(());
        });
        self.drive()?;
        finished
            .await
            .map_err(|_| Error::Device { kind: "wait", message: "the queue dropped its completion callback".into() })?;
        self.check()
    }

    /// Makes the device run the callbacks of finished work (completion, buffer mapping). Native wgpu runs them only
    /// inside `poll`, so this waits there for the latest submission; in a browser the page's event loop runs them,
    /// and nothing may block.
    pub(crate) fn drive(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(WAIT_TIMEOUT) })
            .map_err(|e| Error::Device { kind: "timeout", message: e.to_string() })?;
        Ok(())
    }

    /// The pipeline for `entry` of `shader` with its `override` constants set to `constants`, compiled on first
    /// use and cached.
    pub fn compiled_entry(
        &self,
        shader: &Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<CompiledEntry> {
        let key = (shader.file.to_string(), entry, constants.iter().map(|(n, v)| (*n, v.to_bits())).collect());
        if let Some(k) = self.pipelines.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(k);
        }
        let module = self.module(shader)?;
        let (bindings, written) = shader.entry_binding_uses(entry)?;
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            cache: self.pipeline_cache(),
        });
        self.check()?;
        let compiled = CompiledEntry { pipeline, bindings: bindings.into(), written: written.into() };
        if let Ok(mut m) = self.pipelines.lock() {
            m.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// The variant tuning chose for `key` on this device, if any (see `ops::tune`).
    pub fn tuned_choice(&self, key: &str) -> Option<String> {
        self.tuned.lock().ok().and_then(|m| m.get(key).cloned())
    }

    /// Records the variant chosen for `key`, for this device's lifetime.
    pub fn set_tuned_choice(&self, key: &str, choice: &str) {
        if let Ok(mut m) = self.tuned.lock() {
            m.insert(key.to_string(), choice.to_string());
        }
    }

    /// Runs `load` the first time it is called on this device (reading the tuning cache file).
    pub fn once_tuning_loaded(&self, load: impl FnOnce()) {
        self.tuning_loaded.call_once(load);
    }

    /// Every choice recorded so far, by key (for checkpoints and `wgtrain tune`).
    pub fn tuned_choices(&self) -> std::collections::BTreeMap<String, String> {
        self.tuned.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn module(&self, shader: &Shader) -> Result<wgpu::ShaderModule> {
        if let Some(m) = self.modules.lock().ok().and_then(|m| m.get(shader.file.as_ref()).cloned()) {
            return Ok(m);
        }
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(&shader.file),
            source: wgpu::ShaderSource::Wgsl(shader.source.clone()),
        };
        let module = if shader.trusted {
            // SAFETY: trusted shaders clamp or guard every index themselves (see the file header), and
            // tests/matmul.rs runs them on ragged shapes against the CPU twin.
            unsafe { self.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
        } else {
            self.device.create_shader_module(desc)
        };
        self.check()?;
        if let Ok(mut m) = self.modules.lock() {
            m.insert(shader.file.to_string(), module.clone());
        }
        Ok(module)
    }
}

/// wgtrain's cache directory: `WGTRAIN_CACHE_DIR`, else `$XDG_CACHE_HOME/wgtrain`, else `$HOME/.cache/wgtrain`;
/// None when no directory is known.
pub fn cache_dir() -> Option<std::path::PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    env("WGTRAIN_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wgtrain")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("wgtrain")))
}

/// The optional features wgtrain uses where the adapter has them: PIPELINE_CACHE (when there is a cache
/// directory), SHADER_F16 and SUBGROUP (unless turned off); the second value says whether subgroups are on.
fn wanted_features(adapter: &wgpu::Adapter, has_cache_dir: bool, opts: &GpuOptions) -> (wgpu::Features, bool) {
    let mut features = if has_cache_dir && adapter.features().contains(wgpu::Features::PIPELINE_CACHE) {
        wgpu::Features::PIPELINE_CACHE
    } else {
        wgpu::Features::empty()
    };
    // f16 kernels (`matmul_wgsl::Element::F16`) compile only on a device created with SHADER_F16; asking for it
    // costs nothing where the adapter has it (`WGTRAIN_F16=off` leaves it out, to test the path without it).
    if opts.f16 {
        features |= adapter.features() & wgpu::Features::SHADER_F16;
    }
    let subgroups = opts.subgroups && adapter.features().contains(wgpu::Features::SUBGROUP);
    if subgroups {
        features |= wgpu::Features::SUBGROUP;
    }
    (features, subgroups)
}

/// The slot that keeps the device's first uncaptured error or loss, for `Gpu::check` to return.
fn capture_errors(device: &wgpu::Device) -> ErrorSlot {
    let errors: ErrorSlot = Arc::new(Mutex::new(None));
    let slot = errors.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        let kind = match &e {
            wgpu::Error::OutOfMemory { .. } => "out of memory",
            wgpu::Error::Validation { .. } => "validation",
            wgpu::Error::Internal { .. } => "internal",
        };
        log::error!("wgpu {kind} error: {e}");
        store_first(&slot, Error::Device { kind, message: e.to_string() });
    }));
    let slot = errors.clone();
    device.set_device_lost_callback(move |reason, message| {
        if reason != wgpu::DeviceLostReason::Destroyed {
            store_first(&slot, Error::Device { kind: "device lost", message });
        }
    });
    errors
}

/// Bound where an entry point declares a buffer a particular launch does not use (no bias, say): one buffer for
/// read-only slots and one for read-write slots, which must not alias in one dispatch, and a 1×1 texture.
fn placeholders(device: &wgpu::Device) -> ([wgpu::Buffer; 2], wgpu::TextureView) {
    let placeholder = |label| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    };
    let texture = device
        .create_texture(&wgpu::TextureDescriptor {
            label: Some("unused texture"),
            size: wgpu::Extent3d { width: 1, height: 1, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        })
        .create_view(&wgpu::TextureViewDescriptor::default());
    ([placeholder("unused input"), placeholder("unused output")], texture)
}

/// The driver's pipeline cache, seeded from `path` when a previous run saved one there.
fn open_pipeline_cache(device: &wgpu::Device, path: std::path::PathBuf) -> (wgpu::PipelineCache, std::path::PathBuf) {
    let data = std::fs::read(&path).ok();
    // SAFETY: the data was written by `save_pipeline_cache` from `PipelineCache::get_data` for an adapter with the
    // same cache key; wgpu validates its header and, with `fallback`, starts empty if it is stale.
    let cache = unsafe {
        device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
            label: Some("wgtrain"),
            data: data.as_deref(),
            fallback: true,
        })
    };
    (cache, path)
}

/// Where the pipeline cache for this adapter lives, in [`cache_dir`]; None when the backend has no cache key or
/// no directory is known.
fn pipeline_cache_path(info: &wgpu::AdapterInfo) -> Option<std::path::PathBuf> {
    let key = wgpu::util::pipeline_cache_key(info)?;
    Some(cache_dir()?.join(format!("{key}.bin")))
}

fn store_first(slot: &ErrorSlot, e: Error) {
    if let Ok(mut s) = slot.lock() {
        if s.is_none() {
            *s = Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_family_names_parse_back() {
        for family in [KernelFamily::Texture, KernelFamily::Buffer] {
            assert_eq!(parse_kernel_family(family.name()).unwrap(), family);
        }
        assert_eq!(parse_kernel_family(" Texture ").unwrap(), KernelFamily::Texture);
        let err = parse_kernel_family("shared").unwrap_err().to_string();
        assert!(err.contains("WGTRAIN_KERNELS") && err.contains("texture or buffer"), "{err}");
    }

    #[test]
    fn limits_modes_parse_back_and_request_at_most_the_adapter() {
        for mode in [LimitsMode::Adapter, LimitsMode::WebGpu] {
            assert_eq!(parse_limits_mode(mode.name()).unwrap(), mode);
        }
        assert_eq!(parse_limits_mode(" WebGPU ").unwrap(), LimitsMode::WebGpu);
        let err = parse_limits_mode("browser").unwrap_err();
        assert!(matches!(err, Error::BadEnv { name: "WGTRAIN_LIMITS", .. }), "{err}");
        let big = wgpu::Limits { max_storage_buffer_binding_size: 1 << 31, ..wgpu::Limits::default() };
        assert_eq!(LimitsMode::WebGpu.request(&big), wgpu::Limits::default());
        assert_eq!(LimitsMode::Adapter.request(&big), big);
        let gl = wgpu::Limits::downlevel_defaults();
        let asked = LimitsMode::WebGpu.request(&gl);
        assert!(asked.check_limits(&gl), "webgpu mode asks for more than a downlevel adapter offers");
    }
}
