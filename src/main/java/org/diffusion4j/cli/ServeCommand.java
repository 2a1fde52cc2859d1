package org.diffusion4j.cli;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.serve.ServeConfig;
import org.diffusion4j.serve.ServedModel;
import org.diffusion4j.serve.Server;
import org.diffusion4j.tensor.DeviceSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "A local web page that shows denoising live (x_t and the predicted x0 at every step), and a REST "
                + "API: POST /v1/generate, GET /v1/models, GET /healthz. Listens on 127.0.0.1 unless --host is given.")
final class ServeCommand implements Callable<Integer>, Main.MemoryBound {
    @Override
    public String toNeedLess() {
        return "lower --max-batch";
    }

    @picocli.CommandLine.Mixin
    DeviceOptions device;

    @Option(names = "--checkpoint", description = "An image model to serve; repeat for several (default: the models "
            + "shipped in models/). Requests name models by file name without .safetensors.")
    List<Path> checkpoints = new ArrayList<>();

    @Option(names = "--diffusers", paramLabel = "DIR", description = "A diffusers folder to serve: a "
            + "StableDiffusionPipeline (model_index.json; requests give a prompt) or a UNet2DModel folder; repeat for "
            + "several. Requests name it by the folder's name.")
    List<Path> diffusers = new ArrayList<>();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Bind address (default: ${DEFAULT-VALUE}, "
            + "loopback only; 0.0.0.0 exposes the server to the network).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "TCP port; 0 picks a free one (default: "
            + "${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--allow-host", description = "Another name clients may use for this server in Host/Origin "
            + "headers (e.g. a LAN hostname with --host 0.0.0.0); repeatable.")
    List<String> allowHosts = new ArrayList<>();

    @Option(names = "--max-steps", defaultValue = "1000", description = "Most sampler steps per request (default: "
            + "${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(names = "--max-batch", defaultValue = "16", description = "Most images per request (default: "
            + "${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-scale", defaultValue = "8", description = "Largest PNG magnification (default: "
            + "${DEFAULT-VALUE}).")
    int maxScale;

    @Option(names = "--queue", defaultValue = "8", description = "Requests that may wait behind the running one; "
            + "more get 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--per-client", description = "Requests one client address may have in progress at once; more "
            + "get 429 (default: --queue + 4, so one client can fill the queue and still watch).")
    Integer perClient;

    @Option(names = "--gallery", defaultValue = "200", description = "Finished images kept for download (default: "
            + "${DEFAULT-VALUE}).")
    int gallery;

    @Option(names = "--seed", defaultValue = "0", description = "Seeds the seeds of requests that give none "
            + "(default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        CountDownLatch stopped = new CountDownLatch(1);
        try (Server server = open()) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                stopped.countDown();
            }));
            System.out.println("serving " + names + " at " + server.url() + " (Ctrl-C stops)");
            System.out.flush();
            stopped.await();
        }
        return 0;
    }

    private List<String> names = List.of();

    /** Loads the models and starts the server (the caller closes it). */
    Server open() throws IOException {
        ServeConfig config = new ServeConfig(host, port, allowHosts, maxSteps, maxBatch, maxScale, queue, gallery,
                Math.max(16, queue + 8), perClient != null ? perClient : queue + 4);
        boolean shipped = checkpoints.isEmpty() && diffusers.isEmpty();
        List<Path> files = shipped ? SampleCommand.shippedModels() : checkpoints;
        List<Path> folders = new ArrayList<>(diffusers);
        Path text = GenerateCommand.shippedFolder();
        if (shipped && Files.isRegularFile(text.resolve("model_index.json"))) {
            folders.add(text);
        }
        DeviceSpec where = device.toDevice();
        List<ServedModel> models = new ArrayList<>();
        for (Path f : files) {
            Checkpoint.requireSafetensorsName(f);
            models.add(ServedModel.load(f, where));
        }
        for (Path dir : folders) {
            models.add(ServedModel.loadDiffusers(dir, where));
        }
        names = models.stream().map(ServedModel::name).toList();
        try {
            return Server.start(models, config, seed);
        } catch (BindException e) {
            throw new IOException("--host " + host + " --port " + port + ": cannot listen there ("
                    + e.getMessage() + "); is another server running? --port 0 picks a free port", e);
        }
    }
}
