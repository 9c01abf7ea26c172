// Screenshots of the demo for the README: desktop and phone width.
//
// They go to docs/screenshot.png and docs/screenshot-phone.png when those
// files are missing or when SCREENSHOTS=update; otherwise to
// target/e2e-screenshots/ so an ordinary test run leaves the work tree clean.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers.mjs";

export async function saveScreenshots(page) {
  const docs = join(REPO_ROOT, "docs");
  const update = process.env.SCREENSHOTS === "update" ||
    !existsSync(join(docs, "screenshot.png")) || !existsSync(join(docs, "screenshot-phone.png"));
  const dir = update ? docs : join(REPO_ROOT, "target", "e2e-screenshots");
  mkdirSync(dir, { recursive: true });
  const original = page.viewportSize();
  // Top of the page, nothing focused, and one redraw of the timeline (every
  // 250 ms, sized to the SVG's width) after each resize.
  const settle = async () => {
    await page.evaluate(() => {
      document.activeElement?.blur?.();
      window.scrollTo(0, 0);
    });
    await page.waitForTimeout(400);
  };
  await page.setViewportSize({ width: 1100, height: 900 });
  await settle();
  await page.screenshot({ path: join(dir, "screenshot.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await settle();
  // At phone width nothing may overflow sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.screenshot({ path: join(dir, "screenshot-phone.png"), fullPage: true });
  if (original) await page.setViewportSize(original);
  if (overflow > 0) throw new Error(`the demo overflows horizontally at 390 px by ${overflow} px`);
  return dir;
}
