package org.diffusion4j.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.distributed.Collective;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.distributed.DistributedException;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.LearningRateDecay;
import org.diffusion4j.train.TrainConfig;
import org.diffusion4j.train.Trainer;

/** Trains a model from a {@link RunSpec} and writes its checkpoint. */
public final class TrainingRun {
    /** Tensor name prefixes inside a checkpoint. */
    public static final String MODEL = "model.";
    public static final String EMA = "ema.";
    public static final String EXP_AVG = "optim.exp_avg.";
    public static final String EXP_AVG_SQ = "optim.exp_avg_sq.";

    private TrainingRun() {}

    /**
     * A fresh trainer for {@code spec}: weights initialised from the spec's seed.
     *
     * @param dataDir the dataset's folder (null: -Ddiffusion4j.data / $DIFFUSION4J_DATA, then the cache, then a fetch)
     */
    public static Trainer trainer(RunSpec spec, Path dataDir) throws IOException {
        return trainer(spec, dataDir, Trainer.DEFAULT_MAX_SKIPPED);
    }

    /** As above, stopping after {@code maxSkipped} consecutive non-finite steps. */
    public static Trainer trainer(RunSpec spec, Path dataDir, int maxSkipped) throws IOException {
        return trainer(spec, dataDir, maxSkipped, DataParallel.single());
    }

    /** As above, as one rank of a data-parallel run. */
    public static Trainer trainer(RunSpec spec, Path dataDir, int maxSkipped, DataParallel parallel)
            throws IOException {
        return trainer(spec, dataDir, maxSkipped, parallel, DeviceSpec.CPU);
    }

    /** As above, training on {@code device} (the weights are initialised on the CPU, then moved). */
    public static Trainer trainer(RunSpec spec, Path dataDir, int maxSkipped, DataParallel parallel, DeviceSpec device)
            throws IOException {
        Models.requireFits(spec.model(), spec.train().batchSize(), true, spec.train().emaDecay() > 0, "training a "
                + spec.model().modelType() + " of " + spec.model().parameterShapes().count() + " parameters with "
                + "--batch-size " + spec.train().batchSize(), "lower --batch-size, or the model's size (--channels, "
                + "--hidden, --depth)");
        Network net = spec.model().build(Rng.of(spec.train().seed())).moveTo(device);
        DataSource data = Datasets.resolve(spec.data(), dataDir, spec.train().seed());
        if (net instanceof TextUNet text) {
            data = new CaptionedData(data, text.config().captions(), spec.train().labelDropout(), text);
        }
        return new Trainer(net, NoiseSchedule.of(spec.schedule()), data, spec.train(), maxSkipped, parallel);
    }

    /**
     * When to write intermediate checkpoints, and when to give up on a diverging run.
     *
     * @param every      save every this many steps (0: only at the end)
     * @param keepLast   keep this many intermediate checkpoints; older ones are deleted only after a newer one is
     *                   safely on disk
     * @param maxSkipped stop after this many consecutive steps with a non-finite loss or gradient (each is skipped)
     */
    public record CheckpointPolicy(long every, int keepLast, int maxSkipped) {
        public CheckpointPolicy {
            if (maxSkipped < 1) {
                throw new IllegalArgumentException("max skipped steps must be >= 1, got " + maxSkipped);
            }
            if (every < 0) {
                throw new IllegalArgumentException("checkpoint interval must be >= 0 (0 = only at the end), got " + every);
            }
            if (keepLast < 1) {
                throw new IllegalArgumentException("keep-last must be >= 1, got " + keepLast);
            }
        }

        /** With the default tolerance of {@link Trainer#DEFAULT_MAX_SKIPPED} non-finite steps in a row. */
        public CheckpointPolicy(long every, int keepLast) {
            this(every, keepLast, Trainer.DEFAULT_MAX_SKIPPED);
        }

        /** Only the final checkpoint. */
        public static CheckpointPolicy atEnd() {
            return new CheckpointPolicy(0, 1);
        }
    }

    /**
     * What each checkpoint is saved with besides the model: the run's loss log up to its step, written in the same
     * transaction (see {@link Checkpoint#save(Path, Checkpoint.Sidecar, Map, byte[])}), so a checkpoint and its log
     * change together or not at all.
     */
    @FunctionalInterface
    public interface SaveListener {
        /** The log's bytes covering steps before {@code step}, or null to save none. */
        byte[] lossLog(long step) throws IOException;
    }

    /** Trains to completion and saves to {@code checkpoint} (a .safetensors path). Returns the trainer. */
    public static Trainer run(RunSpec spec, Path dataDir, Path checkpoint, Trainer.Listener listener) throws IOException {
        return run(spec, dataDir, checkpoint, CheckpointPolicy.atEnd(), null, listener, step -> null);
    }

    /**
     * Trains, optionally resuming, with periodic checkpoints {@code NAME-step000001000.safetensors} beside the final
     * {@code checkpoint}.
     *
     * @param resume a checkpoint to continue from exactly (weights, EMA, optimizer moments, step; data order and
     *               noise follow from the step), or null for a fresh start
     */
    public static Trainer run(RunSpec spec, Path dataDir, Path checkpoint, CheckpointPolicy policy, Path resume,
                              Trainer.Listener listener, SaveListener onSave) throws IOException {
        return run(spec, dataDir, checkpoint, policy, resume, listener, onSave, DataParallel.single());
    }

    /**
     * As above, as one rank of a data-parallel run. Every rank must pass the same spec and resume checkpoint (checked:
     * a rank that differs stops all of them); only rank 0 writes files, and {@code onSave} is only called there.
     * At the end the ranks compare digests of their weights and fail if any differs.
     */
    public static Trainer run(RunSpec spec, Path dataDir, Path checkpoint, CheckpointPolicy policy, Path resume,
                              Trainer.Listener listener, SaveListener onSave, DataParallel parallel)
            throws IOException {
        return run(spec, dataDir, checkpoint, policy, resume, listener, onSave, parallel, DeviceSpec.CPU);
    }

    /** As above, training on {@code device}. Checkpoints are the same on every device. */
    public static Trainer run(RunSpec spec, Path dataDir, Path checkpoint, CheckpointPolicy policy, Path resume,
                              Trainer.Listener listener, SaveListener onSave, DataParallel parallel, DeviceSpec device)
            throws IOException {
        return run(spec, dataDir, checkpoint, policy, Start.resume(resume), listener, onSave, parallel, device);
    }

    /**
     * Where a run begins: from scratch, continuing a checkpoint exactly ({@code --resume}), or from another run's
     * weights with this run's own config, optimizer state and step count starting afresh ({@code --init}, fine-tuning).
     *
     * @param resume a checkpoint to continue, or null
     * @param init   a checkpoint whose weights (and EMA, when it has one) to start from, or null
     */
    public record Start(Path resume, Path init) {
        public Start {
            if (resume != null && init != null) {
                throw new IllegalArgumentException("--resume and --init exclude each other: --resume continues a run "
                        + "exactly, --init starts a new one from a checkpoint's weights");
            }
        }

        public static Start fresh() {
            return new Start(null, null);
        }

        /** Continues {@code checkpoint}; null starts fresh. */
        public static Start resume(Path checkpoint) {
            return new Start(checkpoint, null);
        }

        /** A new run from {@code checkpoint}'s weights. */
        public static Start init(Path checkpoint) {
            return new Start(null, checkpoint);
        }
    }

    /** As above, beginning at {@code start}. */
    public static Trainer run(RunSpec spec, Path dataDir, Path checkpoint, CheckpointPolicy policy, Start start,
                              Trainer.Listener listener, SaveListener onSave, DataParallel parallel, DeviceSpec device)
            throws IOException {
        Path resume = start.resume();
        Checkpoint.requireSafetensorsName(checkpoint);
        Collective group = parallel.group();
        boolean writer = group.rank() == 0;
        // Read once up front: a latents file removed during training must not fail the saves.
        JsonNode autoencoder = autoencoderReference(spec, checkpoint);
        if (writer) {
            // Finish or discard what a killed earlier run left half-saved here.
            Checkpoint.recover(checkpoint.toAbsolutePath().getParent());
        }
        requireSameEverywhere(group, "run spec", Json.toTree(spec).toString());
        Trainer trainer = trainer(spec, dataDir, policy.maxSkipped(), parallel, device);
        if (resume != null) {
            restore(trainer, spec, resume);
        }
        if (start.init() != null) {
            initialize(trainer, spec, start.init());
        }
        requireSameEverywhere(group, "starting weights (after resume)", digest(trainer));
        Path lastSaved = resume;
        long total = spec.train().steps();
        try {
            while (trainer.step() < total) {
                long end = policy.every() == 0 ? total
                        : Math.min(total, (trainer.step() / policy.every() + 1) * policy.every());
                trainer.trainUntil(end, listener);
                // Mid-streak of skipped steps the model is suspect: keep the checkpoint from before the streak.
                if (end < total && trainer.skippedInARow() == 0) {
                    Path periodic = periodicName(checkpoint, end);
                    if (writer) {
                        save(trainer, spec, periodic, autoencoder, onSave.lossLog(end));
                        prune(checkpoint, policy.keepLast());
                    }
                    lastSaved = periodic;
                }
            }
        } catch (Trainer.DivergedException e) {
            throw new Trainer.DivergedException(e.getMessage() + ". Nothing was saved after the divergence; the last "
                    + "good checkpoint is " + (lastSaved == null ? "none (use --checkpoint-every)" : lastSaved));
        } catch (Stopped stop) {
            // The listener stops between steps, so the trainer holds a whole step: save it where --resume finds it.
            Path saved = null;
            if (writer && trainer.skippedInARow() == 0 && trainer.step() > 0) {
                saved = periodicName(checkpoint, trainer.step());
                save(trainer, spec, saved, autoencoder, onSave.lossLog(trainer.step()));
            }
            throw new Stopped(trainer.step(), saved != null ? saved : lastSaved);
        }
        requireSameEverywhere(group, "final weights", digest(trainer));
        if (writer) {
            save(trainer, spec, checkpoint, autoencoder, onSave.lossLog(trainer.step()));
        }
        return trainer;
    }

    /**
     * Thrown by a step listener to stop a run between steps (e.g. on Ctrl-C): {@link #run} then saves the step reached
     * as a periodic checkpoint and rethrows it with the step and the file to resume from.
     */
    public static final class Stopped extends RuntimeException {
        private final long step;
        private final transient Path saved;

        /** The request, thrown from a listener. */
        public Stopped() {
            this(-1, null);
        }

        Stopped(long step, Path saved) {
            super(step < 0 ? "stop requested" : "stopped after step " + step + "; " + (saved == null
                    ? "nothing to resume from (no step was completed and saved)"
                    : "saved " + saved + "; continue with --resume " + saved));
            this.step = step;
            this.saved = saved;
        }

        /** Steps completed, or -1 for the request itself. */
        public long step() {
            return step;
        }

        /** The checkpoint to resume from, or null. */
        public Path saved() {
            return saved;
        }
    }

    /**
     * Hex SHA-256 over the model weights, EMA and optimizer moments, in parameter order: equal digests mean the
     * ranks would write identical checkpoints.
     */
    public static String digest(Trainer trainer) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Tensor> all = new ArrayList<>(Parameters.named(trainer.network().module()).values());
        all.addAll(trainer.optimizer().expAvg());
        all.addAll(trainer.optimizer().expAvgSq());
        if (trainer.ema() != null) {
            all.addAll(trainer.ema().shadow());
        }
        for (Tensor t : all) {
            float[] v = Scopes.compute(() -> Tensors.toFloats(t.detach()));
            ByteBuffer b = ByteBuffer.allocate(v.length * 4);
            b.asFloatBuffer().put(v);
            md.update(b.array());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Fails on every rank, naming the ranks that differ from rank 0, unless all pass the same {@code value}. */
    private static void requireSameEverywhere(Collective group, String what, String value) {
        if (group.worldSize() == 1) {
            return;
        }
        List<String> all = group.exchange(what, value);
        List<Integer> differ = new ArrayList<>();
        for (int r = 1; r < all.size(); r++) {
            if (!all.get(r).equals(all.get(0))) {
                differ.add(r);
            }
        }
        if (!differ.isEmpty()) {
            throw new DistributedException("rank " + group.rank() + " of " + group.worldSize() + ": " + what
                    + " of rank(s) " + differ + " differ(s) from rank 0's; every rank must run the same command");
        }
    }

    /** {@code dir/NAME.safetensors} -> {@code dir/NAME-step000001000.safetensors}. */
    public static Path periodicName(Path checkpoint, long step) {
        String name = checkpoint.getFileName().toString();
        String stem = name.substring(0, name.length() - ".safetensors".length());
        return checkpoint.resolveSibling(String.format("%s-step%09d.safetensors", stem, step));
    }

    /** Deletes all but the newest {@code keep} periodic checkpoints of {@code checkpoint} (with their sidecars). */
    static void prune(Path checkpoint, int keep) throws IOException {
        String name = checkpoint.getFileName().toString();
        String stem = name.substring(0, name.length() - ".safetensors".length());
        Pattern p = Pattern.compile(Pattern.quote(stem)
                + "-step(\\d{9})\\.safetensors");
        Path dir = checkpoint.toAbsolutePath().getParent();
        List<Path> periodic;
        try (Stream<Path> files = Files.list(dir)) {
            periodic = files.filter(f -> p.matcher(f.getFileName().toString()).matches()).sorted().toList();
        }
        for (int i = 0; i < periodic.size() - keep; i++) {
            // Weights first: a crash in between leaves a stray sidecar, never weights that look loadable but are not.
            Files.deleteIfExists(periodic.get(i));
            Files.deleteIfExists(Checkpoint.sidecarOf(periodic.get(i)));
            Files.deleteIfExists(Checkpoint.lossLogOf(periodic.get(i)));
        }
    }

    /** Reads a sidecar's train config; keys added since format 1 take the values older files implied. */
    static TrainConfig trainConfig(JsonNode train, String source) {
        JsonNode t = train;
        if (t != null && t.isObject()) {
            var o = (ObjectNode) t.deepCopy();
            if (!o.has("time_sampling")) {
                o.put("time_sampling", "uniform");
            }
            if (!o.has("num_classes")) {
                o.put("num_classes", 0);
            }
            if (!o.has("label_dropout")) {
                o.put("label_dropout", 0.1);
            }
            if (!o.has("lr_decay")) {
                o.put("lr_decay", "constant");
            }
            t = o;
        }
        return Json.fromTree(t, TrainConfig.class, source + ": train");
    }

    /**
     * Loads {@code file} into a fresh trainer for {@code spec}. Refuses, naming the file and the difference, a
     * checkpoint of another model, schedule, dataset or training config (only the total step count may grow).
     */
    public static void restore(Trainer trainer, RunSpec spec, Path file) throws IOException {
        String source = Checkpoint.sidecarOf(file).toString();
        // The recorded run must be this one before its tensors are compared with (or read into) the trainer's.
        Checkpoint.Loaded ck = Checkpoint.load(file, (side, header) -> {
            requireSame(file, "model type", side.modelType(), spec.model().modelType());
            if (side.schedule() == null) {
                throw new IllegalArgumentException(file + ": cannot resume: the sidecar has no noise schedule");
            }
            // Compared as typed records: JSON trees differ in number node types for equal values.
            requireSame(file, "model config", Models.config(side.modelType(), side.modelConfig(), source), spec.model());
            requireSame(file, "schedule", Json.fromTree(side.schedule(), ScheduleConfig.class, source + ": schedule"),
                    spec.schedule());
            requireSame(file, "data", side.data(), spec.data());
            TrainConfig recorded = trainConfig(side.train(), source);
            requireSame(file, "train config (other than steps)", recorded.withSteps(spec.train().steps()), spec.train());
            if (recorded.lrDecay() != LearningRateDecay.CONSTANT && recorded.steps() != spec.train().steps()) {
                throw new IllegalArgumentException(file + ": cannot resume with --steps " + spec.train().steps()
                        + ": the learning rate decays (" + recorded.lrDecay() + ") over the run's " + recorded.steps()
                        + " steps, so another length would not continue the same run");
            }
            if (side.step() > spec.train().steps()) {
                throw new IllegalArgumentException(file + ": checkpoint is at step " + side.step() + ", past the "
                        + "requested " + spec.train().steps() + " steps");
            }
            Models.requireTensors(spec.model().parameterShapes(), header, file, resumeGroups(spec.train()));
        });
        Checkpoint.Sidecar side = ck.sidecar();
        Map<String, Tensor> params = Parameters.named(trainer.network().module());
        List<String> names = List.copyOf(params.keySet());
        Parameters.load(trainer.network().module(), withPrefix(ck.tensors(), MODEL), file.toString());
        trainer.optimizer().load(ordered(ck.tensors(), EXP_AVG, names, file), ordered(ck.tensors(), EXP_AVG_SQ, names, file),
                side.optimizerSteps());
        if (trainer.ema() != null) {
            trainer.ema().load(ordered(ck.tensors(), EMA, names, file), side.emaUpdates());
        }
        trainer.resumeAt(side.step());
    }

    /**
     * Starts {@code trainer} (at step 0) from {@code file}'s weights, and its EMA from the file's EMA when both keep one;
     * the optimizer starts afresh. Refuses, naming the file, a checkpoint of another model type or architecture. The
     * data, schedule and training config may differ: that is what fine-tuning changes.
     */
    public static void initialize(Trainer trainer, RunSpec spec, Path file) throws IOException {
        String source = Checkpoint.sidecarOf(file).toString();
        Checkpoint.Loaded ck = Checkpoint.load(file, (side, header) -> {
            if (!side.modelType().equals(spec.model().modelType())) {
                throw new IllegalArgumentException(file + ": cannot start from it: model type differs (checkpoint: "
                        + side.modelType() + ", requested: " + spec.model().modelType() + ")");
            }
            NetworkConfig recorded = Models.config(side.modelType(), side.modelConfig(), source);
            if (!recorded.equals(spec.model())) {
                throw new IllegalArgumentException(file + ": cannot start from it: model config differs (checkpoint: "
                        + Json.toTree(recorded) + ", requested: " + Json.toTree(spec.model()) + "); pass the "
                        + "checkpoint's architecture options");
            }
            Models.requireTensors(spec.model().parameterShapes(), header, file, Set.of(MODEL));
        });
        Map<String, Tensor> params = Parameters.named(trainer.network().module());
        List<String> names = List.copyOf(params.keySet());
        Parameters.load(trainer.network().module(), withPrefix(ck.tensors(), MODEL), file.toString());
        boolean hasEma = ck.tensors().keySet().stream().anyMatch(n -> n.startsWith(EMA));
        if (trainer.ema() != null && hasEma) {
            // Its update count keeps the EMA at full decay instead of ramping up again over the fine-tuned weights.
            trainer.ema().load(ordered(ck.tensors(), EMA, names, file), ck.sidecar().emaUpdates());
        } else if (trainer.ema() != null) {
            trainer.ema().load(ordered(ck.tensors(), MODEL, names, file), 0);
        }
    }

    /** The tensor groups a run with this config needs to resume: weights, AdamW's moments, and the EMA if kept. */
    private static Set<String> resumeGroups(TrainConfig train) {
        return train.emaDecay() > 0 ? Set.of(MODEL, EMA, EXP_AVG, EXP_AVG_SQ)
                : Set.of(MODEL, EXP_AVG, EXP_AVG_SQ);
    }

    /**
     * Why {@code train --resume} would refuse a checkpoint that loads for sampling (a group of tensors only resuming
     * needs is absent), or null. Shapes are not checked here: loading checks every group present.
     */
    public static String resumeProblem(Checkpoint.Sidecar side, Safetensors.Header header) {
        TrainConfig train = trainConfig(side.train(), "sidecar");
        for (String group : new TreeSet<>(resumeGroups(train))) {
            if (header.tensors().stream().noneMatch(t -> t.name().startsWith(group))) {
                return "no " + group + "* tensors" + (group.equals(EMA) ? " (the run keeps an EMA)" : "");
            }
        }
        return null;
    }

    private static void requireSame(Path file, String what, Object recorded, Object wanted) {
        if (!recorded.equals(wanted)) {
            throw new IllegalArgumentException(file + ": cannot resume: " + what + " differs (checkpoint: " + recorded
                    + ", requested: " + wanted + ")");
        }
    }

    /** The tensors {@code prefix + name} for each parameter name, in parameter order. */
    private static List<Tensor> ordered(Map<String, Tensor> all, String prefix, List<String> names, Path file) {
        List<Tensor> out = new ArrayList<>();
        for (String n : names) {
            Tensor t = all.get(prefix + n);
            if (t == null) {
                throw new IllegalArgumentException(file + ": missing tensor '" + prefix + n + "'");
            }
            out.add(t);
        }
        return out;
    }

    /** The tensors under {@code prefix}, with the prefix removed. */
    static Map<String, Tensor> withPrefix(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /** Saves weights, EMA and optimizer moments with a sidecar describing the run. */
    public static void save(Trainer trainer, RunSpec spec, Path checkpoint) throws IOException {
        save(trainer, spec, checkpoint, autoencoderReference(spec, checkpoint), null);
    }

    /** For latent data, the sidecar's reference to the autoencoder (see {@link LatentSpace}); else null. */
    private static JsonNode autoencoderReference(RunSpec spec, Path checkpoint)
            throws IOException {
        return Datasets.isLatent(spec.data()) ? LatentSpace.reference(checkpoint,
                Latents.info(Path.of(spec.data().substring(Datasets.LATENTS.length())))) : null;
    }

    private static void save(Trainer trainer, RunSpec spec, Path checkpoint,
                             JsonNode autoencoder, byte[] lossLog) throws IOException {
        Map<String, Tensor> params = Parameters.named(trainer.network().module());
        List<String> names = List.copyOf(params.keySet());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        params.forEach((k, v) -> tensors.put(MODEL + k, v));
        for (int i = 0; i < names.size(); i++) {
            tensors.put(EXP_AVG + names.get(i), trainer.optimizer().expAvg().get(i));
            tensors.put(EXP_AVG_SQ + names.get(i), trainer.optimizer().expAvgSq().get(i));
            if (trainer.ema() != null) {
                tensors.put(EMA + names.get(i), trainer.ema().shadow().get(i));
            }
        }
        Checkpoint.Sidecar sidecar = new Checkpoint.Sidecar(spec.model().modelType(), Json.toTree(spec.model()),
                Json.toTree(spec.schedule()), Json.toTree(spec.train()),
                spec.data(), trainer.step(), spec.train().seed(), trainer.optimizer().stepCount(),
                trainer.ema() == null ? 0 : trainer.ema().updates(), autoencoder);
        Checkpoint.save(checkpoint, sidecar, tensors, lossLog);
    }
}
