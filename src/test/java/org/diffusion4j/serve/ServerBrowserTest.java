package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in Debian's headless chromium: a generation streams frames, lands in the gallery, and is screenshotted; an
 * uploaded image with a painted mask is inpainted; a prompt to the shipped text model draws the digit it names.
 */
class ServerBrowserTest {
    @TempDir
    Path dir;

    static final Path SCREENSHOT = Path.of("target", "serve-screenshot.png");

    private static Path firstExisting(String... paths) {
        return Stream.of(paths).map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
    }

    private static void generate(WebDriver driver, WebDriverWait wait, String steps) {
        WebElement field = driver.findElement(By.id("steps"));
        field.clear();
        field.sendKeys(steps);
        wait.until(d -> d.findElement(By.id("generate")).isEnabled());
        driver.findElement(By.id("generate")).click();
        wait.until(d -> !d.findElement(By.id("status")).getText().startsWith("done"));
    }

    @Test
    void thePageShowsDenoisingLiveAndKeepsTheResult() throws Exception {
        Path chromium = firstExisting("/usr/bin/chromium", "/usr/bin/chromium-browser");
        Path driverBinary = firstExisting("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        assumeTrue(chromium != null && driverBinary != null, "skipped: Debian's chromium and chromedriver are not "
                + "installed (apt-get install chromium chromium-driver); .ci/run installs them when it can");
        try (Server server = Server.start(List.of(ServedModel.load(Path.of("models/mnist-unet.safetensors")),
                ServedModel.loadDiffusers(Path.of("models/mnist-text"), DeviceSpec.CPU)),
                ServeConfig.localDefaults(0), 1)) {
            ChromeOptions options = new ChromeOptions();
            options.setBinary(chromium.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1100,760");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(driverBinary.toFile()).usingAnyFreePort().build();
            WebDriver driver = new ChromeDriver(service, options);
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
                wait.pollingEvery(Duration.ofMillis(50));
                driver.get(server.url());
                wait.until(d -> d.findElement(By.id("status")).getText().equals("ready"));
                assertThat(new Select(driver.findElement(By.id("sampler"))).getFirstSelectedOption().getText())
                        .isEqualTo("dpm++3m-sde");
                assertThat(driver.findElement(By.id("steps")).getAttribute("value")).isEqualTo("30");
                generate(driver, wait, "20");
                wait.until(d -> d.findElement(By.id("status")).getText().startsWith("done"));
                generate(driver, wait, "250");
                // Frames arrive while sampling runs: several distinct x_t images before the result.
                Set<String> seen = new HashSet<>();
                wait.until(d -> {
                    String src = d.findElement(By.id("xt")).getAttribute("src");
                    if (src != null && src.startsWith("data:image/png;base64,")) {
                        seen.add(src);
                    }
                    return seen.size() >= 3;
                });
                // The README's screenshot: mid-way, noisy x_t beside its clean estimate (or the end, on a fast machine).
                wait.until(d -> {
                    String s = d.findElement(By.id("status")).getText();
                    return s.startsWith("done") || s.matches("step (1[2-9]\\d|2\\d\\d) / 250");
                });
                Path shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
                Files.createDirectories(SCREENSHOT.getParent());
                Files.copy(shot, SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
                assertThat(Files.size(SCREENSHOT)).isGreaterThan(10_000);
                wait.until(d -> d.findElement(By.id("status")).getText().startsWith("done"));
                assertThat(driver.findElement(By.id("status")).getText()).contains("mnist-unet dpm++3m-sde-250");
                assertThat(Integer.parseInt(driver.findElement(By.id("frames")).getText())).isGreaterThanOrEqualTo(3);
                List<WebElement> gallery = driver.findElements(By.cssSelector("#gallery .gallery-item a"));
                assertThat(gallery).hasSize(2);
                assertThat(gallery.get(0).getAttribute("href")).matches(".*/v1/images/r2\\.png");
                assertThat(gallery.get(1).getAttribute("href")).matches(".*/v1/images/r1\\.png");

                // Inpainting: upload an image, paint the region to repaint on the canvas, generate.
                Path init = dir.resolve("init.png");
                Files.write(init, java.util.Base64.getDecoder().decode(GenerateRequestTest.png(false)));
                driver.findElement(By.tagName("summary")).click();
                driver.findElement(By.id("init-image")).sendKeys(init.toAbsolutePath().toString());
                try {
                    wait.until(d -> d.findElement(By.id("status")).getText().equals("image loaded: init.png"));
                } catch (RuntimeException e) {
                    throw new AssertionError("status: " + driver.findElement(By.id("status")).getText() + "; logs: "
                            + driver.manage().logs().get("browser").getAll(), e);
                }
                WebElement canvas = driver.findElement(By.id("mask"));
                new Actions(driver).moveToElement(canvas, -60, 40).clickAndHold().moveByOffset(120, 0)
                        .moveByOffset(0, 30).moveByOffset(-120, 0).release().perform();
                // Painting a mask moves the strength to 1, as diffusers' inpainting starts from noise.
                assertThat(driver.findElement(By.id("strength")).getAttribute("value")).isEqualTo("1");
                generate(driver, wait, "10");
                wait.until(d -> d.findElement(By.id("status")).getText().startsWith("done"));
                assertThat(driver.findElement(By.id("status")).getText())
                        .contains("mnist-unet dpm++3m-sde-10").contains("inpainting strength 1.0");
                assertThat(driver.findElements(By.cssSelector("#gallery .gallery-item a"))).hasSize(3);

                // A prompt to the text-to-image model: its fields replace the class, and the result is a seven.
                new Select(driver.findElement(By.id("model"))).selectByValue("mnist-text");
                assertThat(driver.findElement(By.id("prompt")).isDisplayed()).isTrue();
                assertThat(driver.findElement(By.id("class-box")).isDisplayed()).isFalse();
                assertThat(driver.findElement(By.id("guidance")).getAttribute("value")).isEqualTo("7.5");
                assertThat(new Select(driver.findElement(By.id("sampler"))).getFirstSelectedOption().getText())
                        .isEqualTo("scheduler");
                WebElement prompt = driver.findElement(By.id("prompt"));
                prompt.clear();
                prompt.sendKeys("the digit seven");
                generate(driver, wait, "10");
                wait.until(d -> d.findElement(By.id("status")).getText().startsWith("done"));
                assertThat(driver.findElement(By.id("status")).getText())
                        .contains("mnist-text \"the digit seven\" DPMSolverMultistepScheduler-10");
                List<WebElement> all = driver.findElements(By.cssSelector("#gallery .gallery-item a"));
                assertThat(all).hasSize(4);
                String href = all.get(0).getAttribute("href");
                byte[] png = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(href)).build(), HttpResponse.BodyHandlers.ofByteArray())
                        .body();
                assertThat(sevenSeen(png)).as("the CNN reads the page's result as a 7").isTrue();
            } finally {
                driver.quit();
            }
        }
    }

    /** Whether the shipped MNIST CNN reads the centre 28x28 of a 32x32 grey PNG as a 7. */
    private static boolean sevenSeen(byte[] png) throws Exception {
        var img = ImageIO.read(new ByteArrayInputStream(png));
        float[] px = new float[28 * 28];
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                px[y * 28 + x] = (img.getRGB(x + 2, y + 2) & 0xff) / 127.5f - 1;
            }
        }
        try (PointerScope scope = new PointerScope()) {
            return Extractors.load(Extractors.shippedFor("mnist"))
                    .predict(Tensors.fromFloats(px, 1, 1, 28, 28))[0] == 7;
        }
    }
}
