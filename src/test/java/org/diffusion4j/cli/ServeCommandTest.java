package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.diffusion4j.serve.Server;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServeCommandTest {
    @TempDir
    Path dir;

    @Test
    void servesTheShippedModelByDefaultOnLoopback() throws Exception {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--port", "0", "--max-steps", "20");
        try (Server server = cmd.open()) {
            assertThat(server.url()).startsWith("http://127.0.0.1:");
            HttpResponse<String> models = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(server.url() + "v1/models")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(models.body()).contains("\"mnist-unet\"", "\"max_steps\":20");
        }
    }

    @Test
    void servesADiffusersFolderBesideACheckpoint() throws Exception {
        Path folder = Shared.diffusers().resolve("unet_a_uncond").resolve("save_pretrained");
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--port", "0", "--diffusers", folder.toString(), "--checkpoint",
                "models/mnist-unet.safetensors");
        try (Server server = cmd.open()) {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(server.url() + "v1/models"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(models.body()).contains("\"mnist-unet\"", "\"save_pretrained\"");
            HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(URI.create(server.url() + "v1/generate"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"save_pretrained\",\"sampler\":\"ddim\",\"steps\":3,\"batch\":2}"))
                    .build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(png.statusCode()).isEqualTo(200);
            assertThat(png.headers().firstValue("Content-Type")).contains("image/png");
            assertThat(ImageIO.read(new ByteArrayInputStream(png.body())).getWidth()).isGreaterThan(0);
        }
    }

    @Test
    void badOptionsAndModelsAreNamed() {
        MainTest.Run port = MainTest.run("serve", "--port", "70000");
        assertThat(port.code()).isNotZero();
        assertThat(port.err()).contains("--port must be in [0, 65535]");
        MainTest.Run pickle = MainTest.run("serve", "--checkpoint", dir.resolve("m.ckpt").toString());
        assertThat(pickle.code()).isNotZero();
        assertThat(pickle.err()).contains("m.ckpt");
        Path moons = dir.resolve("moons.safetensors");
        assertThat(MainTest.run("train", "--data", "two-moons", "--steps", "2", "--out", moons.toString()).code())
                .isZero();
        MainTest.Run points = MainTest.run("serve", "--checkpoint", moons.toString());
        assertThat(points.code()).isNotZero();
        assertThat(points.err()).contains("moons.safetensors", "serve shows images");
        MainTest.Run missing = MainTest.run("serve", "--port", "0", "--checkpoint", dir.resolve("x.safetensors")
                .toString());
        assertThat(missing.code()).isNotZero();
        assertThat(missing.err()).contains("x.safetensors");
    }

    @Test
    void refusesTwoModelsWithOneName() throws Exception {
        Path copy = Files.createDirectories(dir.resolve("copy"));
        for (String f : new String[] {"mnist-unet.safetensors", "mnist-unet.json"}) {
            Files.copy(Path.of("models", f), copy.resolve(f));
        }
        MainTest.Run twice = MainTest.run("serve", "--port", "0", "--checkpoint", "models/mnist-unet.safetensors",
                "--checkpoint", copy.resolve("mnist-unet.safetensors").toString());
        assertThat(twice.code()).isNotZero();
        assertThat(twice.err()).contains("two models are named 'mnist-unet'");
    }
}
