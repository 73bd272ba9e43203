// Lists and deletes versions of an organization's package through the
// /users/{username} operations, as the package-cleanup action for GitHub
// Packages does, with the organization as the username.
// Usage: node cleanup.mjs BASE_URL ADMIN_TOKEN OTHER_TOKEN OWNER PACKAGE_TYPE PACKAGE_NAME
// ADMIN_TOKEN belongs to an organization admin, OTHER_TOKEN to a package
// admin who is not one. Prints one JSON object with what octokit returned.
import { Octokit } from "@octokit/rest";

const [baseUrl, adminToken, otherToken, owner, packageType, packageName] = process.argv.slice(2);
const client = (auth) => new Octokit({ auth, baseUrl: `${baseUrl}/api/v3`, userAgent: "packhub-e2e" });
const admin = client(adminToken);
const other = client(otherToken);
const params = { username: owner, package_type: packageType, package_name: packageName };

const list = async () => {
  const r = await admin.rest.packages.getAllPackageVersionsForPackageOwnedByUser({ ...params, per_page: 100, page: 1 });
  return r.data.map((v) => ({ id: v.id, name: v.name }));
};
const status = async (fn) => {
  try {
    const r = await fn();
    return { status: r.status };
  } catch (e) {
    return { status: e.status, message: e.response?.data?.message };
  }
};

const before = await list();
const oldest = before[before.length - 1];
const byOther = await status(() =>
  other.rest.packages.deletePackageVersionForUser({ ...params, package_version_id: oldest.id }));
const byAdmin = await status(() =>
  admin.rest.packages.deletePackageVersionForUser({ ...params, package_version_id: oldest.id }));
const after = await list();
console.log(JSON.stringify({ before, byOther, byAdmin, after }));
