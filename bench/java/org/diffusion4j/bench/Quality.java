package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.ImageEvaluation;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Torch;

/**
 * Sample quality against sampler steps: FID (and KID, precision/recall) of one MNIST checkpoint under DDPM-1000,
 * DDIM-50/20/10, Euler, Heun, DPM-Solver++(2M) at 20 and 10 steps and (3M) at 20, each on the same N seeds, beside the real-data
 * floor; plus DDIM-50 under bf16 autocast, and DPM-Solver++ with Karras sigmas and in its SDE forms. Usage: Quality
 * CHECKPOINT N [NAME,...] (a subset of the rows). Prints one JSON line.
 */
public final class Quality {
    private Quality() {}

    private static boolean supports(SamplerSpec spec, LoadedModel model) {
        try {
            spec.requireSupports(model.process());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    record Run(String name, SamplerSpec spec, boolean bf16) {}

    public static void main(String[] args) throws Exception {
        Torch.init();
        Path checkpoint = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        LoadedModel model = LoadedModel.load(checkpoint, true);
        String data = model.outputData();
        LabeledImages train = Datasets.images(data, null, true);
        LabeledImages test = Datasets.images(data, null, false);
        Extractors.Shipped shipped = Extractors.shippedFor(data);
        FeatureExtractor extractor = Extractors.load(shipped);
        List<Run> runs = List.of(
                new Run("ddpm-1000", spec(SamplerSpec.Kind.DDPM, 0, TimestepSpacing.LEADING), false),
                new Run("ddim-50", spec(SamplerSpec.Kind.DDIM, 50, TimestepSpacing.TRAILING), false),
                new Run("ddim-50 bf16", spec(SamplerSpec.Kind.DDIM, 50, TimestepSpacing.TRAILING), true),
                new Run("ddim-20", spec(SamplerSpec.Kind.DDIM, 20, TimestepSpacing.TRAILING), false),
                new Run("ddim-10", spec(SamplerSpec.Kind.DDIM, 10, TimestepSpacing.TRAILING), false),
                new Run("euler-20", spec(SamplerSpec.Kind.EULER, 20, TimestepSpacing.TRAILING), false),
                new Run("euler-10", spec(SamplerSpec.Kind.EULER, 10, TimestepSpacing.TRAILING), false),
                new Run("heun-20", spec(SamplerSpec.Kind.HEUN, 20, TimestepSpacing.TRAILING), false),
                new Run("heun-10", spec(SamplerSpec.Kind.HEUN, 10, TimestepSpacing.TRAILING), false),
                new Run("dpm++2m-20", spec(SamplerSpec.Kind.DPMPP_2M, 20, TimestepSpacing.TRAILING), false),
                new Run("dpm++2m-10", spec(SamplerSpec.Kind.DPMPP_2M, 10, TimestepSpacing.TRAILING), false),
                new Run("dpm++2m-20 karras", karras(SamplerSpec.Kind.DPMPP_2M, 20), false),
                new Run("dpm++2m-sde-20", spec(SamplerSpec.Kind.DPMPP_2M_SDE, 20, TimestepSpacing.TRAILING), false),
                new Run("dpm++2m-sde-10", spec(SamplerSpec.Kind.DPMPP_2M_SDE, 10, TimestepSpacing.TRAILING), false),
                new Run("dpm++3m-20", spec(SamplerSpec.Kind.DPMPP_3M, 20, TimestepSpacing.TRAILING), false),
                new Run("dpm++3m-sde-20", spec(SamplerSpec.Kind.DPMPP_3M_SDE, 20, TimestepSpacing.TRAILING), false),
                new Run("dpm++3m-sde-10", spec(SamplerSpec.Kind.DPMPP_3M_SDE, 10, TimestepSpacing.TRAILING), false),
                // "DPM++ 2M/3M SDE Karras", the forms most front-ends offer.
                new Run("dpm++2m-sde-20 karras", karras(SamplerSpec.Kind.DPMPP_2M_SDE, 20), false),
                new Run("dpm++3m-sde-20 karras", karras(SamplerSpec.Kind.DPMPP_3M_SDE, 20), false),
                // Linspace spacing runs from t = T-1 down to t = 0, so the last step leaves sigma ~0.01 instead of
                // jumping to the clean end from trailing's t = 49 (sigma ~0.17).
                new Run("dpm++2m-20 linspace", spec(SamplerSpec.Kind.DPMPP_2M, 20, TimestepSpacing.LINSPACE), false),
                new Run("dpm++2m-sde-20 linspace", spec(SamplerSpec.Kind.DPMPP_2M_SDE, 20, TimestepSpacing.LINSPACE),
                        false),
                new Run("dpm++3m-sde-20 linspace", spec(SamplerSpec.Kind.DPMPP_3M_SDE, 20, TimestepSpacing.LINSPACE),
                        false));
        if (args.length > 2) {
            // A subset by name, e.g. to add rows to an earlier run of the same checkpoint, n and seeds.
            List<String> names = List.of(args[2].split(","));
            runs = runs.stream().filter(r -> names.contains(r.name())).toList();
        }
        // A flow-matching model has no DDPM schedule to walk: its rows are the solvers it supports.
        runs = runs.stream().filter(r -> supports(r.spec(), model)).toList();
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("mode", "quality").put("checkpoint", checkpoint.toString()).put("n", n)
                .put("extractor", shipped.id()).put("extractor_sha256", shipped.sha256());
        ArrayNode rows = out.putArray("rows");
        for (Run r : runs) {
            try (PointerScope scope = new PointerScope()) {
                long start = System.nanoTime();
                Tensor images;
                try (Autocast cast = Autocast.bf16(r.bf16())) {
                    images = ImageEvaluation.generate(model, r.spec(), n, Guidance.of(1), 0, 250, () -> { });
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                ImageEvaluation.Report rep = ImageEvaluation.evaluate(images, train, test, extractor, shipped.id(),
                        shipped.sha256());
                System.err.println(r.name() + ": " + rep.samples().row(r.name()) + String.format(" (%.0f s)", seconds));
                if (!out.has("floor_fid")) {
                    out.put("floor_fid", rep.floor().fid()).put("floor_kid", rep.floor().kid().mean())
                            .put("floor_precision", rep.floor().precisionRecall().precision())
                            .put("floor_recall", rep.floor().precisionRecall().recall())
                            .put("protocol", rep.protocol().toString());
                }
                rows.addObject().put("sampler", r.name()).put("evaluations", r.spec().evaluations(model.schedule()))
                        .put("seconds", seconds).put("fid", rep.samples().fid())
                        .put("kid", rep.samples().kid().mean()).put("kid_std", rep.samples().kid().std())
                        .put("precision", rep.samples().precisionRecall().precision())
                        .put("recall", rep.samples().precisionRecall().recall())
                        .put("confidence", rep.samples().confidence());
            }
        }
        System.out.println(json.writeValueAsString(out));
    }

    private static SamplerSpec spec(SamplerSpec.Kind kind, int steps, TimestepSpacing spacing) {
        return new SamplerSpec(kind, steps, 0, spacing, DdpmSampler.Variance.FIXED_SMALL, true);
    }

    /** Karras et al. 2022's sigmas (rho 7), as "DPM++ 2M Karras" in diffusers and the web UIs. */
    private static SamplerSpec karras(SamplerSpec.Kind kind, int steps) {
        return new SamplerSpec(kind, steps, 0, TimestepSpacing.TRAILING, DdpmSampler.Variance.FIXED_SMALL, true, true,
                2.0, 0.0);
    }
}
