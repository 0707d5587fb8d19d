//! Copy elision for the texture family: a plan often copies the same buffer range into a texture twice (the input
//! batch for the first layer's forward product and again for its weight gradient; a layer's weights for the
//! forward product and again for the input gradient). When no launch in between writes that range, the second
//! launch can read the first copy's texture, and its copy is dropped: fewer copies to record and to run, and a
//! launch left without copies stays in the current compute pass.

use super::{Bound, Dispatch};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::texture::Upload;

/// Rebinds each launch of `plan` whose texture copy repeats one made earlier in the plan, of a range no launch has
/// written since, to that earlier texture, and drops its copy. Results are unchanged: the launch reads the same
/// values from another texture. Launches are taken in plan order, as one submission runs them.
pub fn elide_repeated_copies(gpu: &Gpu, plan: &mut [Dispatch]) -> Result<()> {
    // The uploads whose textures hold their ranges' current values.
    let mut current: Vec<Upload> = Vec::new();
    for d in plan.iter_mut() {
        let mut kept = Vec::with_capacity(d.uploads.len());
        let mut rebind: Vec<(wgpu::Texture, wgpu::TextureView)> = Vec::new();
        let can_rebind = !d.bound.iter().any(|b| matches!(b, Bound::Other));
        for u in std::mem::take(&mut d.uploads) {
            match current.iter().find(|c| c.same_copy(&u)).filter(|_| can_rebind) {
                Some(earlier) => rebind.push((u.texture().clone(), earlier.view())),
                None => {
                    current.push(u.clone());
                    kept.push(u);
                }
            }
        }
        d.uploads = kept;
        if !rebind.is_empty() {
            for b in &mut d.bound {
                if let Bound::Texture(view) = b {
                    if let Some((_, earlier)) = rebind.iter().find(|(own, _)| view.texture() == own) {
                        *view = earlier.clone();
                    }
                }
            }
            let resources: Option<Vec<wgpu::BindingResource<'_>>> = d.bound.iter().map(Bound::resource).collect();
            let resources = resources.ok_or_else(|| Error::Device { kind: "internal", message: "rebind".into() })?;
            d.group = d.kernel.bind(gpu, &resources)?;
        }
        for (buffer, start, end) in d.written_ranges() {
            current.retain(|c| !c.overlaps(&buffer, start, end));
        }
    }
    Ok(())
}

impl Bound {
    /// The resource to bind; None for the kinds the plans never bind (launches holding one are not rebound).
    fn resource(&self) -> Option<wgpu::BindingResource<'_>> {
        match self {
            Bound::Buffer { buffer, offset, size } => {
                Some(wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer, offset: *offset, size: *size }))
            }
            Bound::Texture(view) => Some(wgpu::BindingResource::TextureView(view)),
            Bound::Other => None,
        }
    }
}

impl Dispatch {
    /// The byte ranges (buffer, start, end) this launch may write: every buffer bound where its kernel stores.
    fn written_ranges(&self) -> Vec<(wgpu::Buffer, u64, u64)> {
        self.kernel
            .bindings
            .iter()
            .zip(&self.bound)
            .filter(|(binding, _)| self.kernel.written.contains(binding))
            .filter_map(|(_, b)| match b {
                Bound::Buffer { buffer, offset, size } => {
                    let end = size.map_or(buffer.size(), |s| offset + s.get());
                    Some((buffer.clone(), *offset, end))
                }
                _ => None,
            })
            .collect()
    }
}
