package org.diffusion4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.DoubleSummaryStatistics;
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

    @Option(names = "--seed", description = "Sampling seed (default: 0).")
    Long seed;

    @Option(names = "--seeds", description = "Sample and score a checkpoint once per seed, a list (0,3,5) or a range "
            + "(0-7), then report the mean and range of FID and of its ratio to the floor: at n = 1000 one seed's "
            + "FID moves by tens of percent.")
    String seeds;

    @Option(names = "--batch-size", defaultValue = "250", description = "Samples per forward pass (default: "
            + "${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-ema", description = "Use the raw weights instead of their EMA.")
    boolean noEma;

    @Option(names = "--extractor", description = "A feature network from train-extractor (default: the shipped one "
            + "for mnist / fashion-mnist).")
    Path extractor;

    @Option(names = "--floor-draws", defaultValue = "0", description = "Images: also score this many further draws "
            + "of real training images (FID only), to show how far the floor itself moves with the draw "
            + "(default: ${DEFAULT-VALUE}; at most " + ImageEvaluation.MAX_FLOOR_DRAWS + ").")
    int floorDraws;

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
        long[] runSeeds = runSeeds();
        ImageEvaluation.requireFloorDraws(floorDraws, "--floor-draws"); // before sampling, not after
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
            if (seeds != null) {
                throw new IllegalArgumentException("--seeds scores images; " + source.checkpoint + " is a 2-D model "
                        + "(use --seed)");
            }
            return evalPoints(model, dataId, runSeeds[0]);
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
        if (model != null) {
            SamplerSpec spec = sampler.toSpec(true, model.process(), model.latent() != null);
            int count = n == null ? 1000 : n;
            Guidance g = TrainOptions.named("--guidance", () -> Guidance.of(guidance));
            List<ImageEvaluation.Report> reports = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            for (long runSeed : runSeeds) {
                long start = System.nanoTime();
                Tensor images;
                try (ProgressBar pb = Progress.bar("sample", ImageEvaluation.totalSteps(model, spec, count,
                        batchSize))) {
                    images = TrainOptions.named("--n/--batch-size/sampler options", () -> ImageEvaluation.generate(
                            model, spec, count, g, runSeed, batchSize, pb::step));
                }
                String what = String.format(Locale.ROOT, "%s, %s%s, seed %d, %.0f s", source.checkpoint,
                        spec.label(model.schedule()), model.train().numClasses() > 0 ? ", guidance " + guidance : "",
                        runSeed, (System.nanoTime() - start) / 1e9);
                // The floor and its draws do not depend on the seed: scored with the first run only.
                int draws = reports.isEmpty() ? floorDraws : 0;
                reports.add(report(images, train, test, features, extractorId, extractorSha, draws, what));
                labels.add(what);
            }
            if (reports.size() > 1) {
                System.out.println(summary(reports, runSeeds));
            }
            if (json != null) {
                writeJson(reports, labels);
            }
            return 0;
        }
        // Scored as stored: resizing or recolouring them to the reference's shape would score other images. Grey
        // stored as RGB (equal components, as sample writes it) is read as grey, which changes no value.
        for (var e : ImageFolder.storedShapes(source.images).entrySet()) {
            int[] s = e.getValue();
            boolean greyAsRgb = s[0] == 3 && train.channels() == 1
                    && ImageFolder.greyInColour(source.images.resolve(e.getKey()));
            if ((s[0] != train.channels() && !greyAsRgb) || s[1] != train.height() || s[2] != train.width()) {
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
        Tensor images = folder.slice(0, folder.count());
        String what = source.images + " (" + folder.count() + " images)";
        ImageEvaluation.Report report = report(images, train, test, features, extractorId, extractorSha, floorDraws,
                what);
        if (json != null) {
            writeJson(List.of(report), List.of(what));
        }
        return 0;
    }

    /** Scores one set of images and prints its report. */
    private static ImageEvaluation.Report report(Tensor images, LabeledImages train, LabeledImages test,
                                                 FeatureExtractor features, String extractorId, String extractorSha,
                                                 int floorDraws, String what) {
        ImageEvaluation.Report report = TrainOptions.named("--n", () -> ImageEvaluation.evaluate(images, train, test,
                features, extractorId, extractorSha, floorDraws));
        System.out.println("scored: " + what);
        System.out.println(report);
        int scored = Math.toIntExact(images.size(0));
        if (scored < MIN_IMAGES) {
            System.out.println("WARNING: " + scored + " images are too few: below " + MIN_IMAGES + " FID and KID are "
                    + "dominated by their small-sample bias, and their ratio to the floor says little (use --n "
                    + MIN_IMAGES + " or more)");
        }
        return report;
    }

    /** Most seeds {@code --seeds} takes: each is a full sampling run. */
    static final int MAX_SEEDS = 100;

    /** The seeds to sample with: --seeds, else --seed, else 0. */
    long[] runSeeds() {
        if (seeds == null) {
            return new long[] {seed == null ? 0 : seed};
        }
        if (seed != null) {
            throw new IllegalArgumentException("--seed and --seeds: give one of them");
        }
        if (source.images != null) {
            throw new IllegalArgumentException("--seeds samples a checkpoint once per seed; --images are scored once");
        }
        return parseSeeds(seeds);
    }

    /** "0-7" or "0,3,5": distinct seeds, at most {@link #MAX_SEEDS}. */
    static long[] parseSeeds(String text) {
        String t = text.strip();
        long[] out;
        try {
            int dash = t.indexOf('-', 1);
            if (dash > 0 && !t.contains(",")) {
                long from = Long.parseLong(t.substring(0, dash).strip());
                long to = Long.parseLong(t.substring(dash + 1).strip());
                if (to < from || to - from >= MAX_SEEDS) {
                    throw new IllegalArgumentException("--seeds " + text + ": a range FROM-TO needs FROM <= TO and at "
                            + "most " + MAX_SEEDS + " seeds");
                }
                out = new long[(int) (to - from + 1)];
                for (int i = 0; i < out.length; i++) {
                    out[i] = from + i;
                }
            } else {
                String[] parts = t.split(",", -1);
                out = new long[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    out[i] = Long.parseLong(parts[i].strip());
                }
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seeds " + text + ": expected a list of integers (0,3,5) or a range "
                    + "(0-7)");
        }
        if (out.length > MAX_SEEDS) {
            throw new IllegalArgumentException("--seeds " + text + ": at most " + MAX_SEEDS + " seeds, got "
                    + out.length);
        }
        if (Arrays.stream(out).distinct().count() != out.length) {
            throw new IllegalArgumentException("--seeds " + text + ": a seed is repeated (it would score the same "
                    + "samples twice)");
        }
        return out;
    }

    /** FID and FID / floor over the seeds' reports: what the text summary and the JSON both give. */
    record Spread(DoubleSummaryStatistics fid, DoubleSummaryStatistics ratio) {
        static Spread of(List<ImageEvaluation.Report> reports) {
            return new Spread(reports.stream().mapToDouble(r -> r.samples().fid()).summaryStatistics(),
                    reports.stream().mapToDouble(ImageEvaluation.Report::fidRatio).summaryStatistics());
        }
    }

    /** Mean and range of FID and of FID / floor over the seeds' reports. */
    static String summary(List<ImageEvaluation.Report> reports, long[] seeds) {
        Spread s = Spread.of(reports);
        StringBuilder list = new StringBuilder();
        for (long seed : seeds) {
            list.append(list.length() == 0 ? "" : ",").append(seed);
        }
        return String.format(Locale.ROOT, "over %d seeds (%s): FID mean %.3f (%.3f-%.3f); FID / floor mean %.2f "
                + "(%.2f-%.2f)", s.fid().getCount(), list, s.fid().getAverage(), s.fid().getMin(), s.fid().getMax(),
                s.ratio().getAverage(), s.ratio().getMin(), s.ratio().getMax());
    }

    /** Fewer images than this get a warning in the report: the README's minimum for comparable FID figures. */
    static final int MIN_IMAGES = 500;

    private static String describe(int channels, int height, int width) {
        return width + "x" + height + " " + (channels == 1 ? "grey" : channels == 3 ? "colour" : channels
                + "-component") + " images";
    }

    private int evalPoints(LoadedModel model, String dataId, long seed) throws Exception {
        if (model.train().numClasses() > 0) {
            throw new IllegalArgumentException(source.checkpoint + ": eval scores unconditional 2-D models; use "
                    + "class-accuracy for class-conditional ones");
        }
        if (floorDraws > 0) {
            throw new IllegalArgumentException("--floor-draws scores images; " + source.checkpoint + " is a 2-D model, "
                    + "whose report already has a fresh-data floor");
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

    /** One report as before; several (one per seed) under "runs", with their mean and range. */
    private void writeJson(List<ImageEvaluation.Report> reports, List<String> labels) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root;
        if (reports.size() == 1) {
            root = reportJson(m, reports.get(0), labels.get(0));
        } else {
            root = m.createObjectNode();
            var runs = root.putArray("runs");
            for (int i = 0; i < reports.size(); i++) {
                runs.add(reportJson(m, reports.get(i), labels.get(i)));
            }
            Spread s = Spread.of(reports);
            var f = s.fid();
            var q = s.ratio();
            root.put("fid_mean", f.getAverage()).put("fid_min", f.getMin()).put("fid_max", f.getMax())
                    .put("fid_over_floor_mean", q.getAverage()).put("fid_over_floor_min", q.getMin())
                    .put("fid_over_floor_max", q.getMax());
        }
        AtomicFiles.write(json, m.writerWithDefaultPrettyPrinter().writeValueAsString(root)
                .getBytes(StandardCharsets.UTF_8));
    }

    private static ObjectNode reportJson(ObjectMapper m, ImageEvaluation.Report r, String what) {
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
        if (r.floorDraws().length > 0) {
            var draws = root.putArray("floor_draws_fid");
            for (double d : r.floorDraws()) {
                draws.add(d);
            }
        }
        return root;
    }
}
