// School administration: school info, classes, invite links with QR codes, join requests.

export function showAdmin(root, school, back) {
  void root; void school;
  back();
}
