//! The int8 path through the C ABI: `anne_forward` on chains of
//! `ANNE_DTYPE_S8` Dense layer records (as the MicroPython glue builds
//! them), against LiteRT's recorded outputs (`tests/fixtures/int8/*.json`,
//! the models made of FULLY_CONNECTED operators only: `dense_linear` and
//! the others like it), bit for bit, row by row.
//!
//! The layer records hold what a dtype-1 `.anne` file holds
//! (docs/FORMAT.md): the kernel in TFLite's layout, the int32 bias, one
//! double-precision scale per output channel (`(double)input_scale *
//! (double)weight_scale[j] / (double)output_scale` of the float32 scales,
//! as LiteRT's reference FULLY_CONNECTED computes it, passed as the f64's
//! bits in two words, low first), the zero points as offsets and the
//! fused activation's clamp in output steps
//! (`CalculateActivationRangeQuantized`): inputs of the kernel computed
//! from the model, not expected values.

use anne::abi::{
    anne_activation_t, anne_layer_t, anne_quant_t, ANNE_DTYPE_S8, ANNE_LAYER_DENSE, ANNE_OK,
};
use anne::ffi::anne_forward;
use serde_json::Value;

mod int8_common;
use int8_common::{activation_range, f64s, i8s, ints, litert_fc_scale};
use std::path::Path;

fn fixture(name: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/int8/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).unwrap()
}

/// f64s as the ABI takes them: each one's bits in two words, low first.
fn words(scales: &[f64]) -> Vec<u32> {
    scales
        .iter()
        .flat_map(|s| [s.to_bits() as u32, (s.to_bits() >> 32) as u32])
        .collect()
}

/// One int8 Dense layer's arrays (the records point into them).
struct Layer {
    kernel: Vec<i8>,
    bias: Option<Vec<i32>>,
    /// Two words per scale: the f64's bits, the low word first.
    scale: Vec<u32>,
    quant: anne_quant_t,
    out: Vec<i8>,
}

fn layers_of(doc: &Value, per_tensor: bool) -> Vec<Layer> {
    let tensors = doc["tensors"].as_array().unwrap();
    let mut layers = Vec::new();
    for op in doc["operators"].as_array().unwrap() {
        assert_eq!(op["opcode"], "FULLY_CONNECTED");
        let ins = ints(&op["inputs"]);
        let (tin, tw) = (&tensors[ins[0] as usize], &tensors[ins[1] as usize]);
        let tout = &tensors[ints(&op["outputs"])[0] as usize];
        let units = ints(&tw["shape"])[0] as usize;
        let bias = (ins.len() > 2 && ins[2] >= 0).then(|| {
            ints(&tensors[ins[2] as usize]["values"])
                .into_iter()
                .map(|v| v as i32)
                .collect()
        });
        let (s_in, s_out) = (f64s(&tin["scales"])[0], f64s(&tout["scales"])[0]);
        let mut w_scales = f64s(&tw["scales"]);
        if per_tensor {
            // One scale for all: only right if every channel's scale is
            // the same, so the per-tensor test uses the first and checks
            // the layers where they are.
            w_scales.truncate(1);
        }
        let scale = words(
            &w_scales
                .iter()
                .map(|&s| litert_fc_scale(s_in, s, s_out))
                .collect::<Vec<_>>(),
        );
        let z_out = ints(&tout["zero_points"])[0] as i32;
        let (act_min, act_max) = activation_range(
            op["fused_activation"].as_str().unwrap(),
            s_out as f32,
            z_out,
        );
        let quant = anne_quant_t {
            input_offset: -(ints(&tin["zero_points"])[0] as i32),
            output_offset: z_out,
            act_min,
            act_max,
            scale: scale.as_ptr(),
            count: scale.len() / 2,
        };
        layers.push(Layer {
            kernel: i8s(&tw["values"]),
            bias,
            scale,
            quant,
            out: vec![0; units],
        });
    }
    layers
}

/// The C records of `layers` (their quant records point into the layers).
fn records(layers: &mut [Layer]) -> Vec<anne_layer_t> {
    layers
        .iter_mut()
        .map(|l| {
            l.quant.scale = l.scale.as_ptr();
            // SAFETY: all-zero is a valid anne_activation_t (plain data);
            // an int8 layer does not read it.
            let act: anne_activation_t = unsafe { std::mem::zeroed() };
            anne_layer_t {
                kind: ANNE_LAYER_DENSE as u32,
                dtype: ANNE_DTYPE_S8 as u32,
                kernel: l.kernel.as_ptr().cast(),
                kernel_len: l.kernel.len(),
                bias: l
                    .bias
                    .as_ref()
                    .map_or(std::ptr::null(), |b| b.as_ptr().cast()),
                bias_len: l.bias.as_ref().map_or(0, |b| b.len()),
                out: l.out.as_mut_ptr().cast(),
                out_len: l.out.len(),
                act,
                params: [0; 6],
                quant: &l.quant,
            }
        })
        .collect()
}

fn forward(recs: &[anne_layer_t], x: &[i8]) -> (i32, usize) {
    let mut failed = usize::MAX;
    // SAFETY: every record points into live vectors of its lengths; x is
    // x.len() int8 values.
    let status = unsafe {
        anne_forward(
            x.as_ptr().cast(),
            x.len(),
            recs.as_ptr(),
            recs.len(),
            &mut failed,
        )
    };
    (status, failed)
}

fn dense_only_fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/int8");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc = fixture(&name);
        if doc["operators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|op| op["opcode"] == "FULLY_CONNECTED")
        {
            out.push((name, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn dense_chains_through_the_c_abi_match_litert() {
    let fixtures = dense_only_fixtures();
    assert!(
        fixtures.iter().any(|(n, _)| n == "dense_linear"),
        "dense_linear.json is dense-only"
    );
    let mut compared = 0;
    for (name, doc) in fixtures {
        let mut layers = layers_of(&doc, false);
        let recs = records(&mut layers);
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            let x = i8s(row);
            assert_eq!(forward(&recs, &x).0, ANNE_OK, "{name}: row {r}");
            // SAFETY: the last record's out is the last layer's vector,
            // written by the call; read through the record's pointer.
            let got = unsafe {
                std::slice::from_raw_parts(
                    recs.last().unwrap().out as *const i8,
                    recs.last().unwrap().out_len,
                )
            };
            assert_eq!(got, &i8s(&outputs[r])[..], "{name}: row {r}");
            compared += 1;
        }
    }
    assert!(compared >= 16, "only {compared} rows compared");
}

#[test]
fn per_tensor_scales_and_unaligned_int8_buffers() {
    // The same chain with each layer's first channel's scale for all
    // (count 1) must equal the per-channel chain where every channel has
    // that scale: checked against the kernel per channel, with x at
    // an odd address (int8 needs no alignment).
    let doc = fixture("dense_linear");
    let mut pc = layers_of(&doc, false);
    for l in &mut pc {
        let first = [l.scale[0], l.scale[1]];
        l.scale
            .chunks_exact_mut(2)
            .for_each(|w| w.copy_from_slice(&first));
    }
    let mut pt = layers_of(&doc, true);
    let (rpc, rpt) = (records(&mut pc), records(&mut pt));
    for row in doc["rows"].as_array().unwrap() {
        let mut buf = vec![0i8; 1];
        buf.extend(i8s(row));
        assert_eq!(forward(&rpc, &buf[1..]), (ANNE_OK, usize::MAX));
        assert_eq!(forward(&rpt, &buf[1..]), (ANNE_OK, usize::MAX));
        assert_eq!(pc.last().unwrap().out, pt.last().unwrap().out);
    }
}

#[test]
fn refusals_name_the_layer() {
    let doc = fixture("dense_linear");
    let mut layers = layers_of(&doc, false);
    let x = i8s(&doc["rows"][0]);
    let mut recs = records(&mut layers);
    // the second layer's input is the first's 7 outputs: a kernel for 6
    recs[1].kernel_len -= recs[1].out_len;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_KERNEL_SIZE, 1));
    let mut recs = records(&mut layers);
    recs[2].quant = std::ptr::null();
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_NULL, 2));
    // a NaN, infinite or missing scale (per channel and per tensor), an
    // odd or short count: refused, nothing written
    for (bits, layer) in [
        (f64::NAN.to_bits(), 0),
        (f64::INFINITY.to_bits(), 1),
        (f64::NEG_INFINITY.to_bits(), 2),
    ] {
        let mut bad = layers_of(&doc, false);
        let j = bad[layer].scale.len() / 2 - 1;
        bad[layer].scale[2 * j] = bits as u32;
        bad[layer].scale[2 * j + 1] = (bits >> 32) as u32;
        let recs = records(&mut bad);
        bad[layer].out.iter_mut().for_each(|v| *v = 5);
        assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_PARAM, layer));
        assert!(
            bad[layer].out.iter().all(|&v| v == 5),
            "written after a bad scale"
        );
        let mut pt = layers_of(&doc, true);
        pt[layer].scale[0] = bits as u32;
        pt[layer].scale[1] = (bits >> 32) as u32;
        assert_eq!(
            forward(&records(&mut pt), &x),
            (anne::abi::ANNE_ERR_PARAM, layer)
        );
    }
    let mut recs = records(&mut layers);
    let short = anne_quant_t {
        count: layers[1].quant.count - 1,
        ..layers[1].quant
    };
    recs[1].quant = &short;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_PARAM, 1));
    let none = anne_quant_t {
        scale: std::ptr::null(),
        ..layers[1].quant
    };
    recs[1].quant = &none;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_NULL, 1));
    // an x of the wrong length
    let mut recs = records(&mut layers);
    assert_eq!(
        forward(&recs, &x[..5]),
        (anne::abi::ANNE_ERR_KERNEL_SIZE, 0)
    );
    // a float32 layer after int8 ones: refused before it reads anything
    recs[1].dtype = anne::abi::ANNE_DTYPE_F32 as u32;
    assert_eq!(
        forward(&recs, &x),
        (anne::abi::ANNE_ERR_KIND, 1),
        "mixed dtypes"
    );
}
