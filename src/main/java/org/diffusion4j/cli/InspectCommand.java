package org.diffusion4j.cli;

import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.run.AutoencoderRun;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.run.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Validate a checkpoint (or any .safetensors file) and print its configs and tensors.")
final class InspectCommand implements Callable<Integer> {
    private static final ObjectWriter COMPACT =
            Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT);

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "A .safetensors file.")
    Path file;

    @Override
    public Integer call() throws Exception {
        Checkpoint.requireSafetensorsName(file);
        Safetensors.Header header = Safetensors.readHeader(file);
        Checkpoint.Sidecar s = null;
        if (Files.exists(Checkpoint.sidecarOf(file))) {
            s = Checkpoint.readSidecar(file);
            System.out.println("checkpoint " + file + " (sidecar verified, SHA-256 matches)");
            System.out.println("  model:    " + s.modelType() + " " + COMPACT.writeValueAsString(s.modelConfig()));
            if (s.schedule() != null) {
                System.out.println("  schedule: " + COMPACT.writeValueAsString(s.schedule()));
            }
            System.out.println("  train:    " + COMPACT.writeValueAsString(s.train()));
            System.out.println("  data:     " + s.data() + ", step " + s.step() + ", seed " + s.seed()
                    + ", optimizer steps " + s.optimizerSteps() + ", EMA updates " + s.emaUpdates());
            if (s.autoencoder() != null) {
                System.out.println("  autoencoder: " + COMPACT.writeValueAsString(s.autoencoder()));
            }
        } else {
            System.out.println("safetensors file " + file + " (no diffusion4j sidecar)");
        }
        if (!header.metadata().isEmpty()) {
            System.out.println("  metadata: " + header.metadata());
        }
        long elements = 0;
        long bytes = 0;
        System.out.println("  tensors (" + header.tensors().size() + "):");
        for (Safetensors.TensorInfo t : header.tensors()) {
            System.out.printf("    %-48s %-5s %s%n", t.name(), t.dtype(), Arrays.toString(t.shape()));
            elements += t.numel();
            bytes += t.end() - t.begin();
        }
        System.out.printf("  total: %d elements, %d bytes%n", elements, bytes);
        if (s != null) {
            System.out.println("  loads:    " + load(s.modelType()));
            if (s.schedule() != null) {
                String why = TrainingRun.resumeProblem(s, header);
                System.out.println("  resumes:  " + (why == null ? "yes" : "no: " + why));
            }
        }
        return 0;
    }

    /**
     * Loads the checkpoint the way {@code sample} (or a latent model's autoencoder user) does, with its EMA weights
     * and without, so a file that a loader would refuse is never reported as fine.
     *
     * @throws IllegalArgumentException naming what the loader refused
     */
    private String load(String modelType) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            if (modelType.equals(AutoencoderConfig.TYPE)) {
                AutoencoderRun.load(file);
                return "ok (autoencoder weights)";
            }
            LoadedModel ema = LoadedModel.load(file, true);
            LoadedModel.load(file, false);
            return ema.usedEma() ? "ok (weights and their EMA)" : "ok (weights; no EMA)";
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException(file + " does not load: " + e.getMessage(), e);
        }
    }
}
