package org.diffusion4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.ImageFolder;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.eval.QualityReport;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.ImageEvaluation;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.tensor.DeviceSpec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Score generated images against a dataset: FID, KID, precision/recall, classifier confidence and "
                + "the class histogram in a shipped, checksummed feature network's space, each beside the real-data "
                + "floor. Scores a folder of PNGs, or samples a checkpoint. For 2-D data: sliced Wasserstein and MMD "
                + "against fresh data.")
final class EvalCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --batch-size or --n";
    }

    static final class Source {
        @Option(names = "--checkpoint", required = true, description = "Sample this checkpoint and score the samples.")
        Path checkpoint;

        @Option(names = "--images", required = true, description = "Score the PNG/JPEG images in this folder.")
        Path images;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--data", description = "The dataset to compare with: mnist or fashion-mnist "
            + "(default for --checkpoint: the model's data; required for --images).")
    String data;

    @Option(names = "--data-dir", description = "Folder with the dataset's IDX files.")
    Path dataDir;

    @Option(names = "--n", description = "Samples to draw from --checkpoint (default: 1000 images, 2000 points); "
            + "--images uses every image.")
    Integer n;

    @Option(names = "--guidance", defaultValue = "1", description = "Class-conditional models: guidance weight; the "
            + "classes are sampled in equal shares (default: ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "250", description = "Samples per forward pass (default: "
            + "${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-ema", description = "Use the raw weights instead of their EMA.")
    boolean noEma;

    @Option(names = "--extractor", description = "A feature network from train-extractor (default: the shipped one "
            + "for mnist / fashion-mnist).")
    Path extractor;

    @Option(names = "--json", description = "Also write the report as JSON.")
    Path json;

    @Option(names = "--overwrite", description = "Replace an existing --json file.")
    boolean overwrite;

    @Mixin
    DeviceOptions device;

    @Mixin
    SamplerOptions sampler;

    @Override
    public Integer call() throws Exception {
        DeviceSpec where = device.toDevice();
        if (n != null && n < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + n);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        if (json != null) {
            OutputPaths.check(json, "--json", overwrite, source.checkpoint, source.images);
        }
        if (source.checkpoint != null) {
            Checkpoint.requireSafetensorsName(source.checkpoint);
        }
        LoadedModel model = source.checkpoint == null ? null : LoadedModel.load(source.checkpoint, !noEma, where);
        String dataId = data != null && data.startsWith(Datasets.FOLDER) ? data
                : data != null ? new ImageDataOptions().canonical(data)
                : model != null ? model.outputData() : null;
        if (dataId == null) {
            throw new IllegalArgumentException("--images needs --data: the dataset the images are compared with");
        }
        if (model != null && Datasets.isToy(dataId)) {
            return evalPoints(model, dataId);
        }
        if (dataId.startsWith(Datasets.FOLDER) || Datasets.sampleShape(dataId).length != 3) {
            throw new IllegalArgumentException("--data " + dataId + ": eval scores images of a labelled dataset with "
                    + "train and test splits (mnist, fashion-mnist, cifar10), and 2-D point sets");
        }
        LabeledImages train = Datasets.images(dataId, dataDir, true);
        LabeledImages test = Datasets.images(dataId, dataDir, false);
        FeatureExtractor features;
        String extractorId;
        String extractorSha;
        if (extractor != null) {
            features = FeatureExtractor.load(extractor);
            extractorId = extractor.getFileName().toString();
            extractorSha = Checkpoint.sha256(extractor);
        } else {
            Extractors.Shipped shipped = Extractors.shippedFor(dataId);
            if (shipped == null) {
                throw new IllegalArgumentException("--data " + dataId + " has no shipped feature network; train one "
                        + "with train-extractor and pass --extractor FILE");
            }
            features = Extractors.load(shipped);
            extractorId = shipped.id();
            extractorSha = shipped.sha256();
        }
        Tensor images;
        String what;
        if (model != null) {
            SamplerSpec spec = sampler.toSpec(true, model.process(), model.latent() != null);
            int count = n == null ? 1000 : n;
            Guidance g = TrainOptions.named("--guidance", () -> Guidance.of(guidance));
            long start = System.nanoTime();
            try (ProgressBar pb = Progress.bar("sample", ImageEvaluation.totalSteps(model, spec, count, batchSize))) {
                images = TrainOptions.named("--n/--batch-size/sampler options", () -> ImageEvaluation.generate(model,
                        spec, count, g, seed, batchSize, pb::step));
            }
            what = String.format(Locale.ROOT, "%s, %s%s, seed %d, %.0f s", source.checkpoint,
                    spec.label(model.schedule()), model.train().numClasses() > 0 ? ", guidance " + guidance : "", seed,
                    (System.nanoTime() - start) / 1e9);
        } else {
            // Scored as stored: resizing or recolouring them to the reference's shape would score other images.
            for (var e : ImageFolder.storedShapes(source.images).entrySet()) {
                int[] s = e.getValue();
                if (s[0] != train.channels() || s[1] != train.height() || s[2] != train.width()) {
                    throw new IllegalArgumentException("--images " + source.images.resolve(e.getKey()) + ": "
                            + describe(s[0], s[1], s[2]) + ", but " + dataId + " has "
                            + describe(train.channels(), train.height(), train.width()));
                }
            }
            LabeledImages folder = Datasets.images(Datasets.folderId(source.images, train.height(),
                    train.channels() == 1 ? ImageFolder.Color.GREY
                            : ImageFolder.Color.RGB), null, true);
            if (folder.height() != train.height() || folder.width() != train.width()) {
                throw new IllegalArgumentException("--images " + source.images + ": images are " + folder.width() + "x"
                        + folder.height() + ", " + dataId + " has " + train.width() + "x" + train.height());
            }
            images = folder.slice(0, folder.count());
            what = source.images + " (" + folder.count() + " images)";
        }
        ImageEvaluation.Report report = TrainOptions.named("--n", () -> ImageEvaluation.evaluate(images, train, test,
                features, extractorId, extractorSha));
        System.out.println("scored: " + what);
        System.out.println(report);
        int scored = Math.toIntExact(images.size(0));
        if (scored < MIN_IMAGES) {
            System.out.println("WARNING: " + scored + " images are too few: below " + MIN_IMAGES + " FID and KID are "
                    + "dominated by their small-sample bias, and their ratio to the floor says little (use --n "
                    + MIN_IMAGES + " or more)");
        }
        if (json != null) {
            writeJson(report, what);
        }
        return 0;
    }

    /** Fewer images than this get a warning in the report: the README's minimum for comparable FID figures. */
    static final int MIN_IMAGES = 500;

    private static String describe(int channels, int height, int width) {
        return width + "x" + height + " " + (channels == 1 ? "grey" : channels == 3 ? "colour" : channels
                + "-component") + " images";
    }

    private int evalPoints(LoadedModel model, String dataId) throws Exception {
        if (model.train().numClasses() > 0) {
            throw new IllegalArgumentException(source.checkpoint + ": eval scores unconditional 2-D models; use "
                    + "class-accuracy for class-conditional ones");
        }
        SamplerSpec spec = sampler.toSpec(false, model.process(), false);
        int count = n == null ? 2000 : n;
        Tensor samples = Generation.run(model, SampleJob.unconditional(spec, count, seed, batchSize), () -> { },
                StepListener.NONE);
        QualityReport report = QualityReport.of(samples, ToyDataset.parse(dataId));
        String what = source.checkpoint + ", " + spec.label(model.schedule()) + ", seed " + seed;
        System.out.println("scored: " + what);
        System.out.println("protocol: " + count + " samples vs " + count + " fresh " + dataId + " points (fixed seed); "
                + "floor: another " + count + " fresh points");
        System.out.println(report);
        if (json != null) {
            ObjectNode root = new ObjectMapper().createObjectNode();
            root.put("scored", what).put("data", dataId).put("n", count).put("sliced_w2", report.swd())
                    .put("sliced_w2_floor", report.swdFloor()).put("mmd2", report.mmd())
                    .put("mmd2_floor", report.mmdFloor());
            AtomicFiles.write(json, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        }
        return 0;
    }

    private void writeJson(ImageEvaluation.Report r, String what) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("scored", what);
        ImageEvaluation.Protocol p = r.protocol();
        root.putObject("protocol").put("n", p.n()).put("reference", p.reference()).put("floor", p.realFloor())
                .put("extractor", p.extractor()).put("extractor_sha256", p.extractorSha256())
                .put("kid_subsets", ImageEvaluation.KID_SUBSETS)
                .put("kid_subset_size", ImageEvaluation.kidSubsetSize(p.n()))
                .put("k", ImageEvaluation.K);
        for (var e : List.of(Map.entry("samples", r.samples()), Map.entry("floor", r.floor()))) {
            ImageEvaluation.Scores s = e.getValue();
            ObjectNode o = root.putObject(e.getKey());
            o.put("fid", s.fid()).put("kid", s.kid().mean()).put("kid_std", s.kid().std())
                    .put("precision", s.precisionRecall().precision()).put("recall", s.precisionRecall().recall())
                    .put("confidence", s.confidence());
            var h = o.putArray("class_histogram");
            for (int c : s.histogram()) {
                h.add(c);
            }
        }
        root.put("fid_over_floor", r.fidRatio());
        AtomicFiles.write(json, m.writerWithDefaultPrettyPrinter().writeValueAsString(root)
                .getBytes(StandardCharsets.UTF_8));
    }
}
