package org.diffusion4j.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A checkpoint is {@code NAME.safetensors} (tensors) plus {@code NAME.json} (the sidecar: format version, model and
 * train configs, step, seed, and the SHA-256 of the tensors file). The sidecar is written last, so a pair with a
 * mismatched hash is detected rather than silently mixed.
 */
public final class Checkpoint {
    /** Bumped on any incompatible change to the layout. */
    public static final int FORMAT_VERSION = 1;
    public static final String FORMAT = "diffusion4j-checkpoint";
    private static final Set<String> PICKLE_EXTENSIONS = Set.of(".pt", ".pth", ".ckpt", ".bin", ".pkl");
    private static final Set<String> SIDECAR_FIELDS = Set.of("format", "format_version", "model_type", "model_config",
            "schedule", "train", "data", "step", "seed", "optimizer_steps", "ema_updates", "weights_file",
            "weights_sha256", "created", "library_version", "autoencoder", "loss_log_sha256");

    /**
     * The sidecar.
     *
     * @param modelType      e.g. "mlp"; selects the network class
     * @param modelConfig    that network's config record as JSON
     * @param schedule       the noise schedule config as JSON; null for a model that is not a denoiser (the
     *                       autoencoder)
     * @param train          the train config as JSON
     * @param data           the training data's id
     * @param step           optimiser steps completed
     * @param seed           the run's seed
     * @param optimizerSteps AdamW's step count (its bias correction)
     * @param emaUpdates     EMA updates so far (its decay ramp); 0 without EMA
     * @param autoencoder    for a latent diffusion model, the autoencoder whose latents it models (file, hash, scale
     *                       factor); null otherwise
     */
    public record Sidecar(String modelType, JsonNode modelConfig, JsonNode schedule, JsonNode train, String data,
                          long step, long seed, long optimizerSteps, long emaUpdates, JsonNode autoencoder) {
        /** A sidecar without an autoencoder reference. */
        public Sidecar(String modelType, JsonNode modelConfig, JsonNode schedule, JsonNode train, String data,
                       long step, long seed, long optimizerSteps, long emaUpdates) {
            this(modelType, modelConfig, schedule, train, data, step, seed, optimizerSteps, emaUpdates, null);
        }
    }

    /**
     * A loaded checkpoint.
     *
     * @param sha256 the tensors file's SHA-256, as verified against the sidecar
     */
    public record Loaded(Sidecar sidecar, Map<String, Tensor> tensors, Path file, String sha256) {}

    /** A sidecar whose recorded hash matched the tensors file. */
    private record Verified(Sidecar sidecar, String sha256, String lossLogSha256) {}

    private Checkpoint() {}

    /** The sidecar path for a tensors path: {@code a/b.safetensors} -> {@code a/b.json}. */
    public static Path sidecarOf(Path weights) {
        String name = weights.getFileName().toString();
        if (!name.endsWith(".safetensors")) {
            throw new IllegalArgumentException(weights + ": checkpoint file names must end in .safetensors");
        }
        return weights.resolveSibling(name.substring(0, name.length() - ".safetensors".length()) + ".json");
    }

    /** {@code a/NAME.safetensors} -> {@code a/NAME.loss.csv}, the training loss log saved with the checkpoint. */
    public static Path lossLogOf(Path weights) {
        return sidecarOf(weights).resolveSibling(sidecarOf(weights).getFileName().toString()
                .replaceFirst("\\.json$", ".loss.csv"));
    }

    /** As {@link #save(Path, Sidecar, Map, byte[])} without a loss log. */
    public static void save(Path weights, Sidecar sidecar, Map<String, Tensor> tensors) throws IOException {
        save(weights, sidecar, tensors, null);
    }

    /**
     * Saves the weights, the sidecar and (when given) the loss log so that a crash at any moment leaves a loadable
     * checkpoint under this name, the old one or the new one, with the log that belongs to it: every file is first
     * staged complete and fsynced, then the weights, the log and the sidecar are renamed into place in that order.
     * The sidecar records the hashes of the other two. A crash between the renames leaves new weights beside the old
     * sidecar; the staged sidecar, whose hash matches them, is then found and used by {@link #load}, and
     * {@link #recover} moves it and the staged log it records into place.
     *
     * @param lossLog the run's loss log up to this checkpoint, saved as {@link #lossLogOf}; null for none
     * @throws IllegalArgumentException when a tensor holds NaN or infinity: a non-finite model is never saved
     */
    public static void save(Path weights, Sidecar sidecar, Map<String, Tensor> tensors, byte[] lossLog)
            throws IOException {
        requireSafetensorsName(weights);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.is_floating_point() && !torch.isfinite(t).all().item_bool()) {
                throw new IllegalArgumentException(weights + ": not saved: tensor '" + e.getKey()
                        + "' holds NaN or infinite values");
            }
        }
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("format", FORMAT);
        json.put("format_version", FORMAT_VERSION);
        json.put("model_type", sidecar.modelType());
        json.set("model_config", sidecar.modelConfig());
        if (sidecar.schedule() != null) {
            json.set("schedule", sidecar.schedule());
        }
        json.set("train", sidecar.train());
        json.put("data", sidecar.data());
        json.put("step", sidecar.step());
        json.put("seed", sidecar.seed());
        json.put("optimizer_steps", sidecar.optimizerSteps());
        json.put("ema_updates", sidecar.emaUpdates());
        if (sidecar.autoencoder() != null) {
            json.set("autoencoder", sidecar.autoencoder());
        }
        json.put("weights_file", weights.getFileName().toString());
        try (AtomicFiles.Staged w = Safetensors.stage(weights, tensors,
                Map.of("format", FORMAT, "format_version", Integer.toString(FORMAT_VERSION)))) {
            json.put("weights_sha256", sha256(w.temp()));
            json.put("created", Instant.now().toString());
            json.put("library_version", Checkpoint.class.getPackage().getImplementationVersion() == null ? "dev"
                    : Checkpoint.class.getPackage().getImplementationVersion());
            AtomicFiles.Staged log = null;
            AtomicFiles.Staged s = null;
            try {
                if (lossLog != null) {
                    log = AtomicFiles.stage(lossLogOf(weights), AtomicFiles.bytes(lossLog));
                    json.put("loss_log_sha256", sha256(lossLog));
                }
                s = AtomicFiles.stage(sidecarOf(weights), AtomicFiles.bytes(Json.MAPPER.writeValueAsBytes(json)));
                w.commit();
            } catch (IOException | RuntimeException e) {
                if (log != null) {
                    log.close();
                }
                if (s != null) {
                    s.close();
                }
                throw e;
            }
            // From here on the staged files are the only ones matching the weights: kept even if a rename fails.
            if (log != null) {
                log.commit();
            }
            s.commit();
        }
    }

    /**
     * The loss log saved with the checkpoint {@code weights}, verified against the hash its sidecar records (or, after
     * a save killed between its renames, the staged log that does match).
     *
     * @return the log's bytes; null when the checkpoint was saved without one
     * @throws IOException naming the log when the file beside the weights is not the one saved with them
     */
    public static byte[] readLossLog(Path weights) throws IOException {
        Verified v = verify(weights);
        if (v.lossLogSha256() == null) {
            return null;
        }
        Path log = lossLogOf(weights);
        if (Files.isRegularFile(log)) {
            byte[] bytes = Files.readAllBytes(log);
            if (sha256(bytes).equals(v.lossLogSha256())) {
                return bytes;
            }
        }
        Path staged = stagedMatching(weights.toAbsolutePath().getParent(), log.getFileName().toString(),
                v.lossLogSha256());
        if (staged != null) {
            return Files.readAllBytes(staged);
        }
        throw new IOException(log + ": not the loss log saved with " + weights.getFileName() + " (its SHA-256 differs "
                + "from the " + v.lossLogSha256() + " its sidecar records, or it is missing)");
    }

    /** A leftover staged for {@code targetName} whose content hashes to {@code sha256}, or null. */
    private static Path stagedMatching(Path dir, String targetName, String sha256) throws IOException {
        for (Path temp : AtomicFiles.leftovers(dir)) {
            if (targetName.equals(AtomicFiles.targetName(temp)) && Files.isRegularFile(temp)
                    && sha256(Files.readAllBytes(temp)).equals(sha256)) {
                return temp;
            }
        }
        return null;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Repairs {@code dir} after a crash: a staged sidecar left by a dead process whose hash matches the weights on disk
     * (a save killed between its renames) is moved into place, after the staged loss log it records if that was not
     * yet renamed, and every other leftover temp file is deleted.
     *
     * @return the checkpoints whose sidecar was restored
     */
    public static List<Path> recover(Path dir) throws IOException {
        List<Path> restored = new ArrayList<>();
        for (Path temp : AtomicFiles.leftovers(dir)) {
            String target = AtomicFiles.targetName(temp);
            if (target != null && target.endsWith(".json") && Files.isRegularFile(temp)) {
                Path weights = dir.resolve(target.substring(0, target.length() - ".json".length()) + ".safetensors");
                String hash = Files.isRegularFile(weights) ? sha256(weights) : null;
                if (hash != null && !records(sidecarOf(weights), hash) && records(temp, hash)) {
                    // The log first, as the save renames it: the sidecar in place means the trio is complete.
                    String logHash = Json.MAPPER.readTree(Files.readAllBytes(temp)).path("loss_log_sha256").asText("");
                    Path log = logHash.isEmpty() ? null
                            : stagedMatching(dir, lossLogOf(weights).getFileName().toString(), logHash);
                    if (log != null) {
                        Files.move(log, lossLogOf(weights), StandardCopyOption.ATOMIC_MOVE,
                                StandardCopyOption.REPLACE_EXISTING);
                    }
                    Files.move(temp, sidecarOf(weights), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                    restored.add(weights);
                }
            }
        }
        for (Path temp : AtomicFiles.leftovers(dir)) {
            Files.deleteIfExists(temp);
        }
        return restored;
    }

    /** Whether {@code side} parses as JSON and records {@code sha256} as its weights' hash. */
    private static boolean records(Path side, String sha256) {
        try {
            JsonNode root = Json.MAPPER.readTree(Files.readAllBytes(side));
            return root != null && sha256.equals(root.path("weights_sha256").asText(""));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Reads and validates only the sidecar, including the tensors file's hash. */
    public static Sidecar readSidecar(Path weights) throws IOException {
        return verify(weights).sidecar();
    }

    private static Verified verify(Path weights) throws IOException {
        requireSafetensorsName(weights);
        if (!Files.exists(weights)) {
            throw new NoSuchFileException(weights.toString(), null, "checkpoint weights file does not exist");
        }
        Safetensors.requireRegularFile(weights);
        Path side = sidecarOf(weights);
        String actual = sha256(weights);
        if (!Files.isRegularFile(side)) {
            Path staged = stagedSidecar(weights, actual);
            if (staged != null) {
                return parse(weights, staged, actual);
            }
            throw new NoSuchFileException(side.toString(), null, "checkpoint sidecar is missing (expected beside "
                    + weights.getFileName() + ")");
        }
        try {
            return parse(weights, side, actual);
        } catch (IOException e) {
            // A save killed between its two renames leaves the new weights' sidecar staged beside them.
            Path staged = stagedSidecar(weights, actual);
            if (staged != null) {
                return parse(weights, staged, actual);
            }
            throw e;
        }
    }

    /** A staged sidecar of a dead writer that records {@code sha256}, or null. */
    private static Path stagedSidecar(Path weights, String sha256) throws IOException {
        Path dir = weights.toAbsolutePath().getParent();
        String name = sidecarOf(weights).getFileName().toString();
        for (Path temp : AtomicFiles.leftovers(dir)) {
            if (name.equals(AtomicFiles.targetName(temp)) && records(temp, sha256)) {
                return temp;
            }
        }
        return null;
    }

    private static Verified parse(Path weights, Path side, String actual) throws IOException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readAllBytes(side));
        } catch (IOException e) {
            throw new IOException(side + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(side + ": sidecar must be a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!SIDECAR_FIELDS.contains(f)) {
                throw new IOException(side + ": unknown field '" + f + "'");
            }
        }
        if (!FORMAT.equals(text(side, root, "format"))) {
            throw new IOException(side + ": not a diffusion4j checkpoint sidecar (format = '"
                    + root.path("format").asText() + "')");
        }
        long version = number(side, root, "format_version");
        if (version != FORMAT_VERSION) {
            throw new IOException(side + ": format_version " + version + " is not supported (this build reads "
                    + FORMAT_VERSION + ")");
        }
        String expected = text(side, root, "weights_sha256");
        if (!expected.equals(actual)) {
            throw new IOException(weights + ": SHA-256 " + actual + " does not match " + expected + " recorded in "
                    + side.getFileName() + " (corrupt, or weights and sidecar from different saves)");
        }
        return new Verified(new Sidecar(text(side, root, "model_type"), object(side, root, "model_config"),
                root.has("schedule") ? object(side, root, "schedule") : null, object(side, root, "train"),
                text(side, root, "data"), number(side, root, "step"), number(side, root, "seed"),
                number(side, root, "optimizer_steps"), number(side, root, "ema_updates"),
                root.has("autoencoder") ? object(side, root, "autoencoder") : null), actual,
                root.has("loss_log_sha256") ? text(side, root, "loss_log_sha256") : null);
    }

    /** Loads a checkpoint: sidecar, hash check, then tensors. */
    public static Loaded load(Path weights) throws IOException {
        return load(weights, (side, header) -> { });
    }

    /** Looks at a verified sidecar and the tensors' header before any tensor is read. */
    @FunctionalInterface
    public interface Precheck {
        /** Throws to refuse the checkpoint (e.g. tensors that do not fit the config, or do not fit in memory). */
        void check(Sidecar sidecar, Safetensors.Header header) throws IOException;
    }

    /** As {@link #load(Path)}, refusing through {@code precheck} before the tensors are read. */
    public static Loaded load(Path weights, Precheck precheck) throws IOException {
        Verified v = verify(weights);
        precheck.check(v.sidecar(), Safetensors.readHeader(weights));
        return new Loaded(v.sidecar(), Safetensors.read(weights).tensors(), weights, v.sha256());
    }

    /** SHA-256 of a file, hex. */
    public static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Checkpoints are safetensors; pickle files are refused with a pointer to conversion. */
    public static void requireSafetensorsName(Path weights) throws IOException {
        String name = weights.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String ext : PICKLE_EXTENSIONS) {
            if (name.endsWith(ext)) {
                throw new IOException(weights + ": pickle checkpoints (" + ext + ") are never loaded, since unpickling "
                        + "runs arbitrary code. Convert it in Python with safetensors.torch.save_file(state_dict, "
                        + "'model.safetensors').");
            }
        }
        if (!name.endsWith(".safetensors")) {
            throw new IOException(weights + ": checkpoint file names must end in .safetensors");
        }
    }

    private static String text(Path side, JsonNode root, String field) throws IOException {
        JsonNode v = root.get(field);
        if (v == null || !v.isTextual()) {
            throw new IOException(side + ": field '" + field + "' must be a string");
        }
        return v.textValue();
    }

    private static long number(Path side, JsonNode root, String field) throws IOException {
        JsonNode v = root.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new IOException(side + ": field '" + field + "' must be a non-negative integer");
        }
        return v.longValue();
    }

    private static JsonNode object(Path side, JsonNode root, String field) throws IOException {
        JsonNode v = root.get(field);
        if (v == null || !v.isObject()) {
            throw new IOException(side + ": field '" + field + "' must be an object");
        }
        return v;
    }
}
