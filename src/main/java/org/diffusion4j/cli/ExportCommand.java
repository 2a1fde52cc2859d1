package org.diffusion4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.diffusers.PipelineExport;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.schedule.ScheduleConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a latent model trained here as a diffusers pipeline folder, which generate and "
                + "diffusers load: a text-conditioned one (train --captions) as a StableDiffusionPipeline "
                + "(model_index.json, tokenizer/, text_encoder/, unet/, vae/, scheduler/), a DiT (train --model dit) "
                + "as a DiTPipeline (transformer/, vae/, scheduler/); the scheduler is DPMSolverMultistepScheduler.")
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "A checkpoint trained on latents with --captions "
            + "or --model dit.")
    Path checkpoint;

    @Option(names = "--out", required = true, description = "The pipeline folder to create.")
    Path out;

    @Option(names = "--no-ema", description = "Export the raw weights instead of their EMA.")
    boolean noEma;

    @Option(names = "--overwrite", description = "Replace an existing --out folder.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out) && !overwrite) {
            throw new IllegalArgumentException("--out " + out + " already exists; pass --overwrite to replace it");
        }
        if (Files.exists(out) && !Files.isRegularFile(out.resolve("model_index.json"))) {
            throw new IllegalArgumentException("--out " + out + " is not a pipeline folder (no model_index.json); "
                    + "--overwrite replaces only those");
        }
        if (checkpoint.toAbsolutePath().normalize().startsWith(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out " + out + " holds the --checkpoint; choose another folder");
        }
        LoadedModel model = LoadedModel.load(checkpoint, !noEma);
        if (!(model.network() instanceof TextUNet) && !(model.network() instanceof DiTTransformer2DModel)) {
            throw new IllegalArgumentException("--checkpoint " + checkpoint + ": a " + model.sidecar().modelType()
                    + " model; export writes text-conditioned models (train --captions) and DiTs (train --model dit)");
        }
        if (model.latent() == null) {
            throw new IllegalArgumentException("--checkpoint " + checkpoint + ": not trained on latents (a Stable "
                    + "Diffusion pipeline needs a VAE: train on latents:FILE)");
        }
        ScheduleConfig schedule = model.schedule().config();
        Path old = null;
        if (Files.exists(out)) {
            // Kept until the new folder is in place, so a failed export loses nothing.
            old = out.resolveSibling(out.getFileName() + ".old-" + ProcessHandle.current().pid());
            Files.move(out, old);
        }
        try {
            if (model.network() instanceof TextUNet net) {
                PipelineExport.write(out, net, model.latent().autoencoder(), model.latent().scaleFactor(), schedule,
                        model.denoiser().parameterization());
            } else {
                PipelineExport.write(out, (DiTTransformer2DModel) model.network(), model.latent().autoencoder(),
                        model.latent().scaleFactor(), schedule, model.denoiser().parameterization());
            }
        } catch (Exception e) {
            if (old != null) {
                Files.move(old, out);
            }
            throw e;
        }
        if (old != null) {
            AtomicFiles.deleteTree(old);
        }
        System.out.println("wrote " + out + " (" + (model.usedEma() ? "EMA" : "raw") + " weights of " + checkpoint
                + "); run it with: ./diffusion4j generate --model " + out + (model.network() instanceof TextUNet
                ? " --prompt \"...\"" : " --class K"));
        return 0;
    }
}
