// Lists and gets packages with octokit against a Packhub server.
// Usage: node packages.mjs BASE_URL TOKEN OWNER PACKAGE_TYPE PACKAGE_NAME
// Prints one JSON object with what octokit returned.
import { Octokit } from "@octokit/rest";

const [baseUrl, auth, owner, packageType, packageName] = process.argv.slice(2);
const octokit = new Octokit({ auth, baseUrl: `${baseUrl}/api/v3`, userAgent: "packhub-e2e" });

const mine = await octokit.rest.packages.listPackagesForAuthenticatedUser({ package_type: packageType });
const theirs = await octokit.rest.packages.listPackagesForUser({ username: owner, package_type: packageType });
const pkg = await octokit.rest.packages.getPackageForUser({
  username: owner, package_type: packageType, package_name: packageName,
});
const versions = await octokit.paginate(
  octokit.rest.packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser,
  { package_type: packageType, package_name: packageName, per_page: 1 },
);
const version = await octokit.rest.packages.getPackageVersionForUser({
  username: owner, package_type: packageType, package_name: packageName, package_version_id: versions[0].id,
});
let missing;
try {
  await octokit.rest.packages.getPackageForUser({ username: owner, package_type: packageType, package_name: "nope" });
} catch (e) {
  missing = { status: e.status, message: e.response?.data?.message };
}
console.log(JSON.stringify({
  mine: mine.data.map((p) => p.name),
  theirs: theirs.data.map((p) => p.name),
  package: { name: pkg.data.name, version_count: pkg.data.version_count, owner: pkg.data.owner.login },
  versions: versions.map((v) => v.name),
  version: { id: version.data.id, tags: version.data.metadata?.container?.tags },
  apiVersion: pkg.headers["x-github-api-version-selected"],
  missing,
}));
