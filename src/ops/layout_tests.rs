//! Every `#[repr(C)]` parameter struct against the layout naga reflects from its WGSL twin: the same size, and the
//! same named fields at the same offsets with the same types (padding, names starting with `_`, only has to add up
//! to the size). A field added on one side only fails here: the Rust side is destructured without `..`, so the
//! list below cannot miss a Rust field.

use std::any::type_name_of_val;
use std::mem::{offset_of, size_of};

use bytemuck::Zeroable;

use super::{
    activation::ActivationParams,
    gather::GatherParams,
    half::HalfParams,
    loss::LossParams,
    matmul::MatmulParams,
    optim::{ModelHyper, ModelsParams},
    reduce::ReduceParams,
    step::StepParams,
    transpose::TransposeParams,
};
use crate::shaders::{self, Shader};

/// Size and (name, offset, type) of every field that is not padding.
type Layout = (usize, Vec<(String, usize, String)>);

macro_rules! rust_layout {
    ($ty:ident { $($field:ident),* $(,)? }) => {{
        let z = $ty::zeroed();
        let $ty { $($field: _),* } = z;
        let fields = vec![$((stringify!($field).to_string(), offset_of!($ty, $field), type_name_of_val(&z.$field).to_string())),*];
        (size_of::<$ty>(), fields.into_iter().filter(|f| !f.0.starts_with('_')).collect::<Vec<_>>())
    }};
}

fn wgsl_layout(shader: &Shader, name: &str) -> Layout {
    let module = naga::front::wgsl::parse_str(&shader.source)
        .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, t)| match &t.inner {
            naga::TypeInner::Struct { members, span } if t.name.as_deref() == Some(name) => Some((members, *span)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{} declares no struct {name}", shader.file));
    let fields = members
        .iter()
        .filter_map(|m| {
            let field = m.name.clone().unwrap_or_default();
            let ty = match module.types[m.ty].inner {
                naga::TypeInner::Scalar(naga::Scalar { kind: naga::ScalarKind::Uint, width: 4 }) => "u32",
                naga::TypeInner::Scalar(naga::Scalar { kind: naga::ScalarKind::Sint, width: 4 }) => "i32",
                naga::TypeInner::Scalar(naga::Scalar { kind: naga::ScalarKind::Float, width: 4 }) => "f32",
                ref other => panic!("{}: {name}.{field} has type {other:?}, which no Rust mirror uses", shader.file),
            };
            (!field.starts_with('_')).then(|| (field, m.offset as usize, ty.to_string()))
        })
        .collect();
    (span as usize, fields)
}

fn check(rust: Layout, shader: &Shader, wgsl_name: &str) {
    assert_eq!(
        rust,
        wgsl_layout(shader, wgsl_name),
        "{wgsl_name} in {}: Rust (left) and WGSL (right) differ",
        shader.file
    );
}

#[test]
fn params_structs_match_their_wgsl_layout() {
    check(rust_layout!(ActivationParams { n, kind, slope, cols }), &shaders::ACTIVATION, "ActivationParams");
    let loss = rust_layout!(LossParams { rows, cols, inv_count, x_batch, stats_batch, _pad });
    check(loss.clone(), &shaders::LOSS, "LossParams");
    check(loss, &shaders::LOSS_F16, "LossParams");
    let half = rust_layout!(HalfParams { n, cols, kind, slope, x_batch, out_batch, _pad });
    check(half, &shaders::HALF, "HalfParams");
    let reduce = rust_layout!(ReduceParams { n, cols, max_norm, x_batch, out_batch, _pad });
    check(reduce.clone(), &shaders::REDUCE, "ReduceParams");
    check(reduce, &shaders::REDUCE_SUBGROUP, "ReduceParams");
    let gather = rust_layout!(GatherParams { rows, cols, src_rows, row_start });
    check(gather.clone(), &shaders::GATHER, "GatherParams");
    check(gather.clone(), &shaders::GATHER_VEC4, "GatherParams");
    check(gather.clone(), &shaders::GATHER_F16, "GatherParams");
    check(gather, &shaders::GATHER_VEC4_F16, "GatherParams");
    check(rust_layout!(TransposeParams { rows, cols, x_batch, out_batch }), &shaders::TRANSPOSE, "TransposeParams");
    let step = rust_layout!(StepParams { batch_offset, _pad });
    check(step.clone(), &shaders::GATHER, "Step");
    check(step, &shaders::GATHER_VEC4, "Step");
    let hyper = rust_layout!(ModelHyper {
        momentum,
        dampening,
        nesterov,
        weight_decay,
        decoupled_weight_decay,
        l1,
        eps,
        alpha,
        centered,
        beta1,
        beta2,
        amsgrad,
        lr,
        step_size,
        bias_correction2_sqrt,
        first_step,
        frozen,
        grad_step_size,
        bias_correction2,
        _pad,
    });
    check(hyper, &shaders::OPTIM, "Hyper");
    check(rust_layout!(ModelsParams { n, scale_stride, slots, models }), &shaders::OPTIM, "ModelsParams");
}

#[test]
fn matmul_params_match_the_hand_written_and_every_generated_matmul() {
    let rust = rust_layout!(MatmulParams {
        m,
        n,
        k,
        blocks_n,
        a_row_stride,
        a_k_stride,
        b_k_stride,
        b_col_stride,
        has_bias,
        activation,
        slope,
        store_pre,
        a_batch,
        b_batch,
        c_batch,
        bias_batch,
    });
    check(rust.clone(), &shaders::MATMUL, "MatmulParams");
    for v in crate::matmul_wgsl::all_variants() {
        check(rust.clone(), &v.shader(), "MatmulParams");
    }
}

/// The check is only worth having if it notices: a WGSL struct with a field the Rust one lacks differs.
#[test]
fn a_field_on_one_side_only_is_noticed() {
    let source =
        format!("{}\nstruct ReduceParams {{ n: u32, cols: u32, max_norm: f32, extra: u32 }}", *shaders::COMMON);
    let shader = Shader { file: "test.wgsl".into(), source: source.into(), trusted: false };
    assert_ne!(
        rust_layout!(ReduceParams { n, cols, max_norm, x_batch, out_batch, _pad }),
        wgsl_layout(&shader, "ReduceParams")
    );
}
